"""ListPublicKeys through boto3 (shared server: nothing here moves the clock)."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from tests.conftest import Server


def test_list_public_keys_gives_the_current_der_key(server: Server) -> None:
    ct = server.client("cloudtrail")
    now = dt.datetime.now(dt.UTC)
    listed = ct.list_public_keys(StartTime=now - dt.timedelta(hours=1), EndTime=now + dt.timedelta(hours=2))
    [key] = listed["PublicKeyList"]
    assert serialization.load_der_public_key(key["Value"]).key_size == 2048
    assert len(key["Fingerprint"]) == 32
    assert key["ValidityStartTime"] <= now + dt.timedelta(minutes=1) < key["ValidityEndTime"]
    assert ct.list_public_keys()["PublicKeyList"][0]["Fingerprint"] == key["Fingerprint"]
    other = server.client("cloudtrail", region_name="eu-west-1").list_public_keys()["PublicKeyList"]
    assert other[0]["Fingerprint"] != key["Fingerprint"]  # one key pair per region


def test_list_public_keys_rejects_a_reversed_range(server: Server) -> None:
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ClientError) as caught:
        server.client("cloudtrail").list_public_keys(StartTime=now, EndTime=now - dt.timedelta(hours=1))
    assert caught.value.response["Error"]["Code"] == "InvalidTimeRangeException"
