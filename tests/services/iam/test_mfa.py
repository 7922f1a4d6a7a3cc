"""Virtual MFA devices through boto3: create, enable with two codes, list, resync, deactivate, delete.

Codes are computed here from the seed the server hands out, at the server's
own (test-mode) clock, read from the admin API.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.secrets import MasterKey
from rampart.services.iam import mfa, store, totp
from rampart.storage.db import Database
from rampart.storage.schema import accounts
from tests.conftest import Server
from tests.services.iam.helpers import allow, unique, user_with_keys
from tests.services.iam.helpers import error_of as error

INVALID = ("InvalidAuthenticationCode", "Authentication code for device is not valid.")


def virtual_devices(iam: Any, status: str) -> list[dict[str, Any]]:
    """Every page of ListVirtualMFADevices (the shared server holds other tests' devices too)."""
    pages = iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus=status)
    return [device for page in pages for device in page["VirtualMFADevices"]]


def server_now(server: Server) -> dt.datetime:
    return dt.datetime.fromisoformat(server.admin("GET", "clock").json()["now"])


def seed_of(created: dict[str, Any]) -> bytes:
    return base64.b32decode(created["Base32StringSeed"])


def two_codes(seed: bytes, server: Server, steps_ahead: int = 0) -> dict[str, str]:
    """Codes of the current step and the next one, by the server's clock."""
    counter = totp.counter_at(server_now(server)) + steps_ahead
    return {"AuthenticationCode1": totp.totp(seed, counter), "AuthenticationCode2": totp.totp(seed, counter + 1)}


@pytest.fixture
def user(iam: Any) -> str:
    name = unique("mfa-user")
    iam.create_user(UserName=name)
    return name


@pytest.fixture
def device(iam: Any) -> dict[str, Any]:
    return iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("dev"))["VirtualMFADevice"]


def test_create_returns_seed_and_qr_png(iam: Any, server: Server) -> None:
    name = unique("phone")
    created = iam.create_virtual_mfa_device(
        VirtualMFADeviceName=name, Path="/team/", Tags=[{"Key": "owner", "Value": "sec"}]
    )["VirtualMFADevice"]
    assert created["SerialNumber"] == f"arn:aws:iam::{server.account_id}:mfa/team/{name}"
    assert len(created["Base32StringSeed"]) == 32 and len(seed_of(created)) == 20
    assert created["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n")
    assert created["Tags"] == [{"Key": "owner", "Value": "sec"}]
    with pytest.raises(ClientError) as excinfo:
        iam.create_virtual_mfa_device(VirtualMFADeviceName=name)
    assert error(excinfo) == ("EntityAlreadyExists", "MFADevice entity at the same path and name already exists.")


def test_enable_list_deactivate_delete(iam: Any, server: Server, user: str, device: dict[str, Any]) -> None:
    serial = device["SerialNumber"]
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, **two_codes(seed_of(device), server))
    listed = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in listed] == [(user, serial)]
    assert isinstance(listed[0]["EnableDate"], dt.datetime)
    assigned = virtual_devices(iam, "Assigned")
    mine = [d for d in assigned if d["SerialNumber"] == serial]
    assert mine and mine[0]["User"]["UserName"] == user and "Base32StringSeed" not in mine[0]
    unassigned = virtual_devices(iam, "Unassigned")
    assert serial not in {d["SerialNumber"] for d in unassigned}
    got = iam.get_mfa_device(SerialNumber=serial)
    assert got["UserName"] == user and got["SerialNumber"] == serial

    with pytest.raises(ClientError) as excinfo:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error(excinfo) == ("DeleteConflict", "MFA VirtualDevice in use. Must deactivate first.")

    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    unassigned = virtual_devices(iam, "Unassigned")
    assert serial in {d["SerialNumber"] for d in unassigned}
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert error(excinfo) == ("NoSuchEntity", f"MFA device with serial number {serial} does not exist.")


def test_wrong_codes_are_refused(iam: Any, server: Server, user: str, device: dict[str, Any]) -> None:
    seed, serial = seed_of(device), device["SerialNumber"]
    codes = two_codes(seed, server)
    wrong = f"{(int(codes['AuthenticationCode1']) + 1) % 1_000_000:06d}"
    attempts = [
        {"AuthenticationCode1": wrong, "AuthenticationCode2": codes["AuthenticationCode2"]},
        {"AuthenticationCode1": codes["AuthenticationCode2"], "AuthenticationCode2": codes["AuthenticationCode1"]},
        {"AuthenticationCode1": codes["AuthenticationCode1"], "AuthenticationCode2": codes["AuthenticationCode1"]},
        two_codes(seed, server, steps_ahead=20),  # far outside the window
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as excinfo:
            iam.enable_mfa_device(UserName=user, SerialNumber=serial, **attempt)
        assert error(excinfo) == INVALID
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []


def test_codes_cannot_be_replayed(iam: Any, server: Server, user: str, device: dict[str, Any]) -> None:
    serial = device["SerialNumber"]
    codes = two_codes(seed_of(device), server)
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, **codes)
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    with pytest.raises(ClientError) as excinfo:
        iam.enable_mfa_device(UserName=user, SerialNumber=serial, **codes)
    assert error(excinfo) == INVALID


def test_an_assigned_device_cannot_be_enabled_again(iam: Any, server: Server, user: str, device: dict[str, Any]) -> None:
    serial = device["SerialNumber"]
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, **two_codes(seed_of(device), server))
    other = unique("other")
    iam.create_user(UserName=other)
    with pytest.raises(ClientError) as excinfo:
        iam.enable_mfa_device(UserName=other, SerialNumber=serial, **two_codes(seed_of(device), server, 2))
    assert error(excinfo) == ("EntityAlreadyExists", "MFA Device is already in use.")


def test_resync_accepts_a_drifted_device(iam: Any, server: Server, user: str, device: dict[str, Any]) -> None:
    seed, serial = seed_of(device), device["SerialNumber"]
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, **two_codes(seed, server))
    with pytest.raises(ClientError) as excinfo:  # 30 steps (15 minutes) ahead: too far for enable, fine for resync
        iam.resync_mfa_device(UserName=user, SerialNumber=serial, **two_codes(seed, server, 30) | {"AuthenticationCode2": "000000"})
    assert error(excinfo) == INVALID
    iam.resync_mfa_device(UserName=user, SerialNumber=serial, **two_codes(seed, server, 30))
    with pytest.raises(ClientError) as excinfo:
        iam.resync_mfa_device(UserName="nobody-" + unique("x"), SerialNumber=serial, **two_codes(seed, server, 32))
    assert error(excinfo)[0] == "NoSuchEntity"


def test_deactivate_needs_the_owner(iam: Any, server: Server, user: str, device: dict[str, Any]) -> None:
    serial = device["SerialNumber"]
    other = unique("other")
    iam.create_user(UserName=other)
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, **two_codes(seed_of(device), server))
    with pytest.raises(ClientError) as excinfo:
        iam.deactivate_mfa_device(UserName=other, SerialNumber=serial)
    assert error(excinfo) == ("NoSuchEntity", "MFA Device invalid for user.")


def test_user_lists_its_own_devices(iam: Any, server: Server, device: dict[str, Any]) -> None:
    name, client = user_with_keys(server, policy=allow("iam:ListMFADevices"))
    iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"], **two_codes(seed_of(device), server))
    listed = client.list_mfa_devices()["MFADevices"]
    assert [d["SerialNumber"] for d in listed] == [device["SerialNumber"]]


def test_device_tags(iam: Any, device: dict[str, Any]) -> None:
    serial = device["SerialNumber"]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "A", "Value": "3"}])
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["b"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "A", "Value": "3"}]
    page = iam.list_mfa_device_tags(SerialNumber=serial, MaxItems=1)
    assert page["IsTruncated"] is False


def test_unknown_serial_numbers(iam: Any, server: Server, user: str) -> None:
    serial = f"arn:aws:iam::{server.account_id}:mfa/absent"
    with pytest.raises(ClientError) as excinfo:
        iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    assert error(excinfo)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as excinfo:
        iam.list_mfa_device_tags(SerialNumber=serial)
    assert error(excinfo)[0] == "NoSuchEntity"


# --- verify_mfa_code (for STS), in process ------------------------------------------------------


def test_verify_mfa_code_consumes_the_counter(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'mfa.db'}")
    db.migrate()
    key = MasterKey(os.urandom(32))
    account, serial = "111122223333", "arn:aws:iam::111122223333:mfa/dev"
    seed = totp.new_seed()
    now = dt.datetime(2024, 5, 1, 12, 0, 7, tzinfo=dt.UTC)
    sealed = base64.b64encode(key.encrypt(seed, b"rampart/mfa/" + serial.encode())).decode()
    with db.session() as s:
        s.execute(accounts.insert().values(account_id=account, name="mfa-test", created_at=now))
        store.insert_entity(s, account, store.MFA, "dev", data={"Seed": sealed, "LastCounter": -1}, created_at=now)
    code = totp.totp(seed, totp.counter_at(now))
    with db.session() as s:  # not assigned to anyone: refused
        assert not mfa.verify_mfa_code(s, account, serial, code, now, master_key=key)
    with db.session() as s:
        device = store.get_entity(s, account, store.MFA, "dev")
        assert device is not None
        store.update_entity(s, device, data={**device.data, "UserName": "alice"})
    with db.session() as s:
        assert mfa.verify_mfa_code(s, account, serial, code, now, master_key=key)
    with db.session() as s:
        assert not mfa.verify_mfa_code(s, account, serial, code, now, master_key=key)  # used up
        assert not mfa.verify_mfa_code(s, account, serial, "000000", now, master_key=key)
        assert not mfa.verify_mfa_code(s, "999999999999", serial, code, now, master_key=key)
        later = now + dt.timedelta(seconds=30)
        assert mfa.verify_mfa_code(s, account, serial, totp.totp(seed, totp.counter_at(later)), later, master_key=key)
    db.dispose()
