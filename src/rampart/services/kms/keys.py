"""Key records and key material: finding a key by any of its names, its state, its material.

A key is named by its id, its ARN, an alias name or an alias ARN; the account
and region of a bare id or alias name are the caller's. Material is read
only through ``material`` (master-key AES-GCM, AAD naming key id and version).
A key whose deletion date has passed counts as destroyed from that instant,
whether or not the deletion job has deleted its rows yet.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.services.kms.errors import (
    DisabledException,
    KMSInvalidStateException,
    NotFoundException,
)
from rampart.services.kms.tables import (
    kms_aliases,
    kms_grants,
    kms_key_materials,
    kms_keys,
)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ARN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)$")
Db = Connection | Session


@dataclass(frozen=True, slots=True)
class KeyRef:
    """Where a KeyId points: account, region, and either a key id or an alias name."""

    account: str
    region: str
    key_id: str | None = None
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Key:
    """One KMS key as stored (material excluded)."""

    key_id: str
    account_id: str
    region: str
    description: str
    key_spec: str
    key_usage: str
    origin: str
    manager: str
    state: str
    created_at: dt.datetime
    deletion_date: dt.datetime | None
    pending_window_days: int | None
    policy: str
    tags: dict[str, str]
    rotation_days: int | None
    next_rotation_at: dt.datetime | None
    current_version: int

    @property
    def arn(self) -> str:
        """The key's ARN."""
        return key_arn(self.region, self.account_id, self.key_id)


def key_arn(region: str, account: str, key_id: str) -> str:
    """arn:aws:kms:<region>:<account>:key/<id>."""
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, name: str) -> str:
    """arn:aws:kms:<region>:<account>:alias/<name> (``name`` includes the alias/ prefix)."""
    return f"arn:aws:kms:{region}:{account}:{name}"


def parse_ref(call: Call, value: str) -> KeyRef:
    """Split a KeyId as the API accepts it; NotFoundException for anything else."""
    account, region = call.account_id or "", call.region
    found = _ARN.match(value)
    if found:
        _, region, account, kind, rest = found.groups()
        return KeyRef(account, region, key_id=rest) if kind == "key" else KeyRef(account, region, alias=f"alias/{rest}")
    if value.startswith("alias/") and len(value) > 6:
        return KeyRef(account, region, alias=value)
    if _UUID.match(value):
        return KeyRef(account, region, key_id=value)
    raise NotFoundException(f"Invalid keyId '{value}'")


def key_from_row(row: Any) -> Key:
    """A Key from a selected kms_keys row."""
    values = dict(row._mapping)
    values["tags"] = orjson.loads(values["tags"])
    return Key(**values)


def alias_target(db: Db, ref: KeyRef) -> str | None:
    """The key id an alias points to, or None."""
    return db.execute(
        select(kms_aliases.c.key_id).where(kms_aliases.c.account_id == ref.account, kms_aliases.c.region == ref.region,
                                           kms_aliases.c.name == ref.alias)
    ).scalar_one_or_none()


def lookup(db: Db, ref: KeyRef, now: dt.datetime) -> Key | None:
    """The live key a reference names, or None (unknown, other account or region, or past deletion)."""
    key_id = ref.key_id if ref.alias is None else alias_target(db, ref)
    if key_id is None:
        return None
    row = db.execute(select(kms_keys).where(kms_keys.c.key_id == key_id)).one_or_none()
    if row is None or row.account_id != ref.account or row.region != ref.region:
        return None
    key = key_from_row(row)
    return None if is_destroyed(key, now) else key


def by_id(db: Db, key_id: str, now: dt.datetime) -> Key | None:
    """A live key by id alone (ciphertext blobs name keys this way)."""
    row = db.execute(select(kms_keys).where(kms_keys.c.key_id == key_id)).one_or_none()
    if row is None:
        return None
    key = key_from_row(row)
    return None if is_destroyed(key, now) else key


def is_destroyed(key: Key, now: dt.datetime) -> bool:
    """Whether the key's deletion window has passed (its material counts as gone)."""
    return key.state == "PendingDeletion" and key.deletion_date is not None and key.deletion_date <= now


def not_found(call: Call, ref: KeyRef) -> NotFoundException:
    """AWS's wording for a key or alias that does not exist."""
    if ref.alias is not None:
        return NotFoundException(f"Alias {alias_arn(ref.region, ref.account, ref.alias)} is not found.")
    return NotFoundException(f"Key '{key_arn(ref.region, ref.account, ref.key_id or '')}' does not exist")


def find(call: Call, db: Db, value: str) -> Key:
    """The key a KeyId names, or NotFoundException.

    A key past its deletion date is not found from that instant on (``lookup``),
    whether or not the deletion job has deleted its rows yet; nothing can bring it
    back, since CancelKeyDeletion must find it first.
    """
    ref = parse_ref(call, value)
    key = lookup(db, ref, call.received_at)
    if key is None:
        raise not_found(call, ref)
    return key


def destroy_due(session: Session, now: dt.datetime, key_id: str | None = None) -> list[str]:
    """Delete every key (or the one given) whose deletion date passed: material, grants, aliases, row."""
    query = select(kms_keys.c.key_id).where(kms_keys.c.state == "PendingDeletion", kms_keys.c.deletion_date <= now)
    if key_id is not None:
        query = query.where(kms_keys.c.key_id == key_id)
    due = list(session.execute(query).scalars())
    for found in due:
        for table in (kms_key_materials, kms_grants, kms_aliases):
            session.execute(delete(table).where(table.c.key_id == found))
        session.execute(delete(kms_keys).where(kms_keys.c.key_id == found))
    return due


def require_usable(key: Key) -> None:
    """Cryptographic operations need an enabled key: DisabledException or KMSInvalidStateException otherwise."""
    if key.state == "Disabled":
        raise DisabledException(f"{key.arn} is disabled.")
    if key.state != "Enabled":
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")


def material_aad(key_id: str, version: int) -> bytes:
    """The master-key AAD of one key material: a row copied to another key or version does not open."""
    return f"rampart-kms-material:{key_id}:{version}".encode()


def material(call: Call, db: Db, key: Key, version: int | None = None) -> bytes:
    """The plaintext key material of a version (the current one by default)."""
    wanted = key.current_version if version is None else version
    sealed = db.execute(
        select(kms_key_materials.c.material).where(kms_key_materials.c.key_id == key.key_id,
                                                   kms_key_materials.c.version == wanted)
    ).scalar_one_or_none()
    if sealed is None:
        raise NotFoundException(f"Key '{key.arn}' does not exist")
    return call.gateway.accounts.master_key.decrypt(sealed, material_aad(key.key_id, wanted))


def aliases_of(db: Db, key_id: str) -> list[str]:
    """The alias names pointing at a key (kms:ResourceAliases)."""
    return list(db.execute(select(kms_aliases.c.name).where(kms_aliases.c.key_id == key_id)).scalars())
