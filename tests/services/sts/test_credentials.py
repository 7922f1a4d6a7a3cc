"""Temporary credentials on the wire: expiry on the server's clock, tokens that cannot be altered or moved."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server, start_server
from tests.services.iam.helpers import error_of
from tests.services.sts.core_helpers import (
    allow,
    client_from,
    role_trusting,
    trust,
    user_keys,
)

INVALID = ("InvalidClientTokenId", "The security token included in the request is invalid.")
EXPIRED = ("ExpiredToken", "The security token included in the request is expired")


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: these tests move its clock by hours."""
    running = start_server(tmp_path_factory.mktemp("sts-clock"))
    yield running
    running.stop()


def _role_session(server: Server, duration: int = 900) -> dict[str, Any]:
    name, keys = user_keys(server)
    role = role_trusting(server, trust({"AWS": f"arn:aws:iam::{ROOT_ACCOUNT}:user/{name}"}), allow("iam:GetRole"))
    sts = server.client("sts", **keys)
    return sts.assume_role(RoleArn=role["Arn"], RoleSessionName="exp", DurationSeconds=duration)["Credentials"]


def test_session_credentials_expire_on_the_server_clock(own_server: Server) -> None:
    creds = _role_session(own_server, 900)
    sts = client_from(own_server, "sts", creds)
    assert sts.get_caller_identity()["Arn"].endswith("/exp")
    own_server.admin("POST", "clock/advance", json={"seconds": 840})
    assert sts.get_caller_identity()["Account"] == ROOT_ACCOUNT  # 14 minutes in: still valid
    own_server.admin("POST", "clock/advance", json={"seconds": 61})
    with pytest.raises(ClientError) as expired:
        sts.get_caller_identity()
    assert error_of(expired) == EXPIRED
    with pytest.raises(ClientError) as expired_iam:
        client_from(own_server, "iam", creds).list_roles()
    assert error_of(expired_iam)[0] == "ExpiredToken"


def test_get_session_token_credentials_expire_too(own_server: Server) -> None:
    _, keys = user_keys(own_server, allow("sts:GetSessionToken"))
    creds = own_server.client("sts", **keys).get_session_token(DurationSeconds=900)["Credentials"]
    client_from(own_server, "sts", creds).get_caller_identity()
    own_server.admin("POST", "clock/advance", json={"seconds": 901})
    with pytest.raises(ClientError) as expired:
        client_from(own_server, "sts", creds).get_caller_identity()
    assert error_of(expired) == EXPIRED


def _flip(token: str, at: int) -> str:
    raw = bytearray(base64.b64decode(token))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_an_altered_or_missing_token_is_invalid(server: Server) -> None:
    creds = _role_session(server)
    for bad in (_flip(creds["SessionToken"], 20), _flip(creds["SessionToken"], -1), creds["SessionToken"][:-8], "x"):
        with pytest.raises(ClientError) as refused:
            client_from(server, "sts", {**creds, "SessionToken": bad}).get_caller_identity()
        assert error_of(refused) == INVALID
    without = server.client("sts", aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as missing:
        without.get_caller_identity()
    assert error_of(missing) == INVALID


def test_a_token_does_not_work_with_another_key(server: Server) -> None:
    first, second = _role_session(server), _role_session(server)
    swapped = {**second, "SessionToken": first["SessionToken"]}
    with pytest.raises(ClientError) as refused:
        client_from(server, "sts", swapped).get_caller_identity()
    assert error_of(refused) == INVALID
    wrong_secret = {**first, "SecretAccessKey": second["SecretAccessKey"]}
    with pytest.raises(ClientError) as mismatch:
        client_from(server, "sts", wrong_secret).get_caller_identity()
    assert error_of(mismatch)[0] == "SignatureDoesNotMatch"


def test_unknown_temporary_key_is_invalid(server: Server, tmp_path: Path) -> None:
    creds = _role_session(server)
    forged = {**creds, "AccessKeyId": "ASIA" + "A" * 16}
    with pytest.raises(ClientError) as refused:
        client_from(server, "sts", forged).get_caller_identity()
    assert error_of(refused) == INVALID
