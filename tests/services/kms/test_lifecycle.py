"""Key lifecycle: describe, list, aliases, enable/disable, deletion windows (destroyed for good), rotation, tags."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ROOT_ACCOUNT, Server, start_server


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own for the tests that move the clock by days (the shared
    server's other tests would see their objects and sessions age by weeks)."""
    running = start_server(tmp_path_factory.mktemp("kms-clock"))
    yield running
    running.stop()


def unchecked(server: Server) -> Any:
    """A root KMS client that leaves input checks to the server."""
    return server.client("kms", config=Config(retries={"max_attempts": 1}, parameter_validation=False))


def _code(caught: Any) -> str:
    return caught.value.response["Error"]["Code"]


def _all(kms: Any, method: str, member: str, **kwargs: Any) -> list[Any]:
    pages = kms.get_paginator(method).paginate(**kwargs, PaginationConfig={"PageSize": 2})
    return [item for page in pages for item in page[member]]


def test_describe_and_list(kms: Any) -> None:
    made = kms.create_key(Description="d1", Tags=[{"TagKey": "team", "TagValue": "blue"}])["KeyMetadata"]
    assert made["KeyState"] == "Enabled" and made["KeyManager"] == "CUSTOMER" and made["Origin"] == "AWS_KMS"
    assert made["Arn"] == f"arn:aws:kms:us-east-1:{ROOT_ACCOUNT}:key/{made['KeyId']}"
    assert made["KeySpec"] == "SYMMETRIC_DEFAULT" and made["MultiRegion"] is False
    assert kms.describe_key(KeyId=made["Arn"])["KeyMetadata"]["Description"] == "d1"
    kms.create_key()
    keys = _all(kms, "list_keys", "Keys")
    assert made["KeyId"] in {k["KeyId"] for k in keys} and len(keys) == len({k["KeyId"] for k in keys})
    assert kms.list_resource_tags(KeyId=made["KeyId"])["Tags"] == [{"TagKey": "team", "TagValue": "blue"}]
    kms.tag_resource(KeyId=made["KeyId"], Tags=[{"TagKey": "env", "TagValue": "dev"}])
    kms.untag_resource(KeyId=made["KeyId"], TagKeys=["team"])
    assert kms.list_resource_tags(KeyId=made["KeyId"])["Tags"] == [{"TagKey": "env", "TagValue": "dev"}]
    with pytest.raises(ClientError) as caught:
        kms.tag_resource(KeyId=made["KeyId"], Tags=[{"TagKey": "aws:x", "TagValue": "y"}])
    assert _code(caught) == "TagException"
    kms.update_key_description(KeyId=made["KeyId"], Description="d2")
    assert kms.describe_key(KeyId=made["KeyId"])["KeyMetadata"]["Description"] == "d2"


def test_aliases(kms: Any) -> None:
    one, two = (kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(2))
    name = f"alias/life-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=name, TargetKeyId=one)
    with pytest.raises(ClientError) as caught:
        kms.create_alias(AliasName=name, TargetKeyId=two)
    assert _code(caught) == "AlreadyExistsException"
    with pytest.raises(ClientError) as caught:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=two)
    assert _code(caught) == "InvalidAliasNameException"
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == one
    kms.update_alias(AliasName=name, TargetKeyId=two)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == two
    listed = _all(kms, "list_aliases", "Aliases")
    assert {"AliasName": name, "TargetKeyId": two} .items() <= next(a for a in listed if a["AliasName"] == name).items()
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=two)["Aliases"]] == [name]
    kms.delete_alias(AliasName=name)
    with pytest.raises(ClientError) as caught:
        kms.delete_alias(AliasName=name)
    assert _code(caught) == "NotFoundException"


def test_deleted_key_data_is_gone(clock_server: Server) -> None:
    server, kms = clock_server, clock_server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    alias = f"alias/doomed-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key)
    blob = kms.encrypt(KeyId=key, Plaintext=b"doomed")["CiphertextBlob"]
    with pytest.raises(ClientError) as caught:
        unchecked(server).schedule_key_deletion(KeyId=key, PendingWindowInDays=6)
    assert _code(caught) == "ValidationException"
    scheduled = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion" and scheduled["PendingWindowInDays"] == 7
    with pytest.raises(ClientError) as caught:
        kms.decrypt(CiphertextBlob=blob)
    assert _code(caught) == "KMSInvalidStateException"
    with pytest.raises(ClientError) as caught:
        kms.enable_key(KeyId=key)
    assert _code(caught) == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"doomed"
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert server.admin("POST", "clock/advance", json={"seconds": 7 * 86400 + 60}).status_code == 200
    with pytest.raises(ClientError) as caught:  # gone at once, before the job ran
        kms.describe_key(KeyId=key)
    assert _code(caught) == "NotFoundException"
    assert alias not in {a["AliasName"] for a in _all(kms, "list_aliases", "Aliases")}
    with pytest.raises(ClientError) as caught:  # the alias went with its key, job or not
        kms.delete_alias(AliasName=alias)
    assert _code(caught) == "NotFoundException"
    assert server.admin("POST", "jobs/run").status_code == 200
    for attempt in (lambda: kms.decrypt(CiphertextBlob=blob), lambda: kms.cancel_key_deletion(KeyId=key)):
        with pytest.raises(ClientError) as caught:
            attempt()
        assert _code(caught) in ("InvalidCiphertextException", "NotFoundException")
    assert key not in {k["KeyId"] for k in _all(kms, "list_keys", "Keys")}


def test_rotation(clock_server: Server) -> None:
    server, kms = clock_server, clock_server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    old = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    with pytest.raises(ClientError) as caught:  # the server checks too, not only botocore
        unchecked(server).enable_key_rotation(KeyId=key, RotationPeriodInDays=89)
    assert _code(caught) == "ValidationException"
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    kms.rotate_key_on_demand(KeyId=key)
    middle = kms.encrypt(KeyId=key, Plaintext=b"middle")["CiphertextBlob"]
    assert middle[3:19] == old[3:19]  # same key ...
    assert (old[19:23], middle[19:23]) == ((1).to_bytes(4, "big"), (2).to_bytes(4, "big"))  # ... newer material
    server.admin("POST", "clock/advance", json={"seconds": 91 * 86400})
    server.admin("POST", "jobs/run")
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND", "AUTOMATIC"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=middle)["Plaintext"] == b"middle"
    newest = kms.encrypt(KeyId=key, Plaintext=b"after")["CiphertextBlob"]
    assert newest[19:23] == (3).to_bytes(4, "big")
    next_date = kms.get_key_rotation_status(KeyId=key)["NextRotationDate"]
    assert next_date > dt.datetime.now(dt.UTC) + dt.timedelta(days=150)
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as caught:
        kms.enable_key_rotation(KeyId=rsa)
    assert _code(caught) == "UnsupportedOperationException"
