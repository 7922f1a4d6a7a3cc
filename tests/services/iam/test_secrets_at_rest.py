"""IAM's secrets never reach the call journal, the server log or the database in the clear."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Server, start_server
from tests.services.iam.helpers import unique


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, so its files hold only this test's calls."""
    running = start_server(Path(tmp_path_factory.mktemp("rampart-secrets")))
    yield running
    running.stop()


def test_secrets_are_nowhere_on_disk(own: Server) -> None:
    iam = own.client("iam")
    name = unique("secretive")
    iam.create_user(UserName=name)
    secret_key = iam.create_access_key(UserName=name)["AccessKey"]["SecretAccessKey"]
    password = "Unguessable-Passw0rd-" + unique("p")
    iam.create_login_profile(UserName=name, Password=password)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("mfa"))["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    seed_text = seed.decode() if isinstance(seed, bytes) else seed
    own.admin("GET", "health")
    own.stop()  # drains the event bus into the journal
    everything = b"".join(p.read_bytes() for p in own.data_dir.rglob("*") if p.is_file())
    for secret in (secret_key, password, seed_text):
        assert secret.encode() not in everything, secret[:4]
        assert base64.b64encode(secret.encode()) not in everything, secret[:4]
    assert b"HIDDEN_DUE_TO_SECURITY_REASONS" in (own.data_dir / "calls.jsonl").read_bytes()
