"""Key material is stored only encrypted under the server's master key, bound to its key id and version."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from rampart.config import Settings
from rampart.secrets import DecryptionError, MasterKey
from rampart.services.kms.keys import material_aad
from rampart.services.kms.tables import kms_key_materials
from rampart.storage.db import Database
from tests.conftest import Server


def _stored(server: Server, key_id: str) -> dict[int, bytes]:
    settings = Settings(data_dir=server.data_dir, database_url=server.env.get("RAMPART_DATABASE_URL"))
    db = Database(settings.resolved_database_url)
    try:
        with db.read() as conn:
            rows = conn.execute(select(kms_key_materials.c.version, kms_key_materials.c.material)
                                .where(kms_key_materials.c.key_id == key_id))
            return {row.version: bytes(row.material) for row in rows}
    finally:
        db.dispose()


def test_private_key_is_sealed_under_the_master_key(server: Server, kms: Any) -> None:
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key)["PublicKey"])
    modulus = public.public_numbers().n.to_bytes(256, "big")
    stored = _stored(server, key)
    assert list(stored) == [1]
    assert modulus not in stored[1]  # a plaintext PKCS#8 key would hold the modulus verbatim
    master = MasterKey.load(Settings(data_dir=server.data_dir, master_key=server.env.get("RAMPART_MASTER_KEY")))
    private = serialization.load_der_private_key(master.decrypt(stored[1], material_aad(key, 1)), password=None)
    assert private.public_key().public_numbers() == public.public_numbers()
    for wrong in (material_aad(key, 2), material_aad("00000000-0000-0000-0000-000000000000", 1)):
        with pytest.raises(DecryptionError):
            master.decrypt(stored[1], wrong)
