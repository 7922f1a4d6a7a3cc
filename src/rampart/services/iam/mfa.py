"""Virtual MFA devices: create (seed + QR code), enable, resync, deactivate, delete, list, tags.

A device is an ``mfa`` entity whose serial number is its ARN. Its seed is
kept encrypted with the server's master key (bound to the serial number);
``data`` also holds the user it is assigned to, when it was enabled, the
last time-step counter used (so no code works twice) and the drift a resync
measured. ``verify_mfa_code`` is what STS asks when a caller presents a code.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any

import segno
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.secrets import DecryptionError, MasterKey
from rampart.services.iam import store, totp
from rampart.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidAuthenticationCode,
    LimitExceeded,
    NoSuchEntity,
)

Conn = Connection | Session

ENABLE_WINDOW = 4  # time steps either side of the server's clock for EnableMFADevice (±2 minutes)
RESYNC_WINDOW = 120  # a drifted device may be up to an hour off when it is resynchronised
VERIFY_WINDOW = 1  # a code at sign-in / GetSessionToken: the current step and one either side
DEVICES_PER_USER = 8  # IAM allows up to eight MFA devices per user
INVALID_CODE = "Authentication code for device is not valid."


def _aad(serial: str) -> bytes:
    """Binds a seed's ciphertext to its device, so seeds cannot be swapped between rows."""
    return b"rampart/mfa/" + serial.encode()


def _seed(master_key: MasterKey, device: store.Entity) -> bytes:
    try:
        return master_key.decrypt(base64.b64decode(device.data["Seed"]), _aad(device.arn))
    except (KeyError, ValueError, DecryptionError):
        raise InvalidAuthenticationCode(INVALID_CODE) from None


def qr_png(uri: str) -> bytes:
    """A PNG of the QR code an authenticator app scans."""
    buffer = io.BytesIO()
    segno.make(uri).save(buffer, kind="png", scale=4)
    return buffer.getvalue()


def get_device(conn: Conn, account_id: str, serial: str) -> store.Entity | None:
    """A virtual MFA device of this account by serial number (its ARN), or None."""
    return store.get_entity_by_arn(conn, account_id, serial, (store.MFA,))


def require_device(conn: Conn, account_id: str, serial: str) -> store.Entity:
    found = get_device(conn, account_id, serial)
    if found is None:
        raise NoSuchEntity(store.no_such_message(store.MFA, serial))
    return found


def assigned_to(device: store.Entity) -> str | None:
    """The name of the user the device is enabled for, or None."""
    name = device.data.get("UserName")
    return str(name) if name else None


def user_devices(conn: Conn, account_id: str, user_name: str) -> list[store.Entity]:
    """The devices enabled for a user, by serial number."""
    devices = store.list_entities(conn, account_id, store.MFA)
    mine = [d for d in devices if (assigned_to(d) or "").lower() == user_name.lower()]
    return sorted(mine, key=lambda d: d.arn)


def _caller_user(call: Call, params: dict[str, Any]) -> str | None:
    """UserName, else the calling IAM user's name; None for the root user."""
    if params.get("UserName"):
        return str(params["UserName"])
    principal = call.caller.principal
    if getattr(principal, "kind", None) == "user" and principal.name:
        return str(principal.name)
    return None


def _device_for_user(conn: Conn, account_id: str, serial: str, user_name: str | None) -> store.Entity:
    """The device, which must be enabled for ``user_name`` (AWS: "MFA Device invalid for user.")."""
    device = require_device(conn, account_id, serial)
    owner = assigned_to(device)
    if owner is None or user_name is None or owner.lower() != user_name.lower():
        raise NoSuchEntity("MFA Device invalid for user.")
    return device


# --- create / delete ------------------------------------------------------------------------


@handler("iam", "CreateVirtualMFADevice")
def create_virtual_mfa_device(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new device: its seed (Base32) and QR code are handed out now and never again."""
    account_id = call.account_id or ""
    name, path = params["VirtualMFADeviceName"], params.get("Path") or "/"  # the model checks the path
    seed = totp.new_seed()
    serial = store.arn_for(account_id, store.MFA, name, path)
    sealed = call.gateway.accounts.master_key.encrypt(seed, _aad(serial))
    data = {"Seed": base64.b64encode(sealed).decode(), "LastCounter": -1}
    with call.gateway.db.session() as s:
        device = store.insert_entity(
            s, account_id, store.MFA, name, path=path, data=data, tags=params.get("Tags") or (),
            created_at=call.received_at, arn=serial,
        )
    uri = totp.otpauth_uri(seed, f"{name}@{account_id}")
    out: dict[str, Any] = {
        "SerialNumber": device.arn,
        "Base32StringSeed": totp.base32_seed(seed).encode("ascii"),
        "QRCodePNG": qr_png(uri),
    }
    if device.tags:
        out["Tags"] = device.tags
    return {"VirtualMFADevice": out}


@handler("iam", "DeleteVirtualMFADevice")
def delete_virtual_mfa_device(call: Call, params: dict[str, Any]) -> None:
    """Delete an unassigned device; an enabled one must be deactivated first."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        device = require_device(s, account_id, params["SerialNumber"])
        if assigned_to(device):
            raise DeleteConflict("MFA VirtualDevice in use. Must deactivate first.")
        store.delete_entity(s, device)


# --- enable / resync / deactivate -------------------------------------------------------------


def _proven_counter(
    master_key: MasterKey, device: store.Entity, params: dict[str, Any], when: dt.datetime, window: int
) -> int:
    """The later counter of two consecutive valid codes, or InvalidAuthenticationCode."""
    counter = totp.consecutive_counter(
        _seed(master_key, device),
        str(params["AuthenticationCode1"]),
        str(params["AuthenticationCode2"]),
        when,
        window,
        int(device.data.get("LastCounter", -1)),
    )
    if counter is None:
        raise InvalidAuthenticationCode(INVALID_CODE)
    return counter


@handler("iam", "EnableMFADevice")
def enable_mfa_device(call: Call, params: dict[str, Any]) -> None:
    """Assign a device to a user once two consecutive codes prove the user holds it."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = store.require_entity(s, account_id, store.USER, params["UserName"])
        device = require_device(s, account_id, params["SerialNumber"])
        if assigned_to(device):
            raise EntityAlreadyExists("MFA Device is already in use.")
        if len(user_devices(s, account_id, user.name)) >= DEVICES_PER_USER:
            raise LimitExceeded(f"Cannot exceed quota for MFADevicesPerUser: {DEVICES_PER_USER}")
        counter = _proven_counter(call.gateway.accounts.master_key, device, params, call.received_at, ENABLE_WINDOW)
        data = {
            **device.data,
            "UserName": user.name,
            "EnableDate": store.iso(call.received_at),
            "LastCounter": counter,
            "Drift": counter - totp.counter_at(call.received_at),
        }
        store.update_entity(s, device, data=data)


@handler("iam", "ResyncMFADevice")
def resync_mfa_device(call: Call, params: dict[str, Any]) -> None:
    """Re-learn a drifted device's clock from two consecutive codes (searched over a wide window)."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = store.require_entity(s, account_id, store.USER, params["UserName"])
        device = _device_for_user(s, account_id, params["SerialNumber"], user.name)
        counter = _proven_counter(call.gateway.accounts.master_key, device, params, call.received_at, RESYNC_WINDOW)
        drift = counter - totp.counter_at(call.received_at)
        store.update_entity(s, device, data={**device.data, "LastCounter": counter, "Drift": drift})


@handler("iam", "DeactivateMFADevice")
def deactivate_mfa_device(call: Call, params: dict[str, Any]) -> None:
    """Unassign a device from its user; the device (and its seed) remain until deleted."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        name = _caller_user(call, params)
        if params.get("UserName"):
            name = store.require_entity(s, account_id, store.USER, str(params["UserName"])).name
        device = _device_for_user(s, account_id, params["SerialNumber"], name)
        data = {k: v for k, v in device.data.items() if k not in ("UserName", "EnableDate", "Drift")}
        store.update_entity(s, device, data=data)


# --- read ------------------------------------------------------------------------------------------


def _enable_date(device: store.Entity) -> dt.datetime | None:
    return store.from_iso(device.data.get("EnableDate"))


@handler("iam", "ListMFADevices")
def list_mfa_devices(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The devices enabled for a user (the calling user when UserName is omitted)."""
    account_id = call.account_id or ""
    name = _caller_user(call, params)
    with call.gateway.db.read() as conn:
        devices: list[store.Entity] = []
        if name is not None:
            user = store.require_entity(conn, account_id, store.USER, name)
            devices = user_devices(conn, account_id, user.name)
    chunk, extra = store.page(devices, params, key=lambda d: d.arn)
    listed = [
        {"UserName": assigned_to(d), "SerialNumber": d.arn, "EnableDate": _enable_date(d)} for d in chunk
    ]
    return {"MFADevices": listed, **extra}


def _user_output(user: store.Entity) -> dict[str, Any]:
    """The User structure ListVirtualMFADevices nests for an assigned device."""
    return {"Path": user.path, "UserName": user.name, "UserId": user.entity_id, "Arn": user.arn,
            "CreateDate": user.created_at}


@handler("iam", "ListVirtualMFADevices")
def list_virtual_mfa_devices(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Virtual devices by assignment status; assigned ones name their user (tags are not listed)."""
    account_id = call.account_id or ""
    status = params.get("AssignmentStatus") or "Any"
    with call.gateway.db.read() as conn:
        devices = sorted(store.list_entities(conn, account_id, store.MFA), key=lambda d: d.arn)
        if status != "Any":
            devices = [d for d in devices if bool(assigned_to(d)) == (status == "Assigned")]
        chunk, extra = store.page(devices, params, key=lambda d: d.arn)
        listed = [_virtual_output(conn, account_id, d) for d in chunk]
    return {"VirtualMFADevices": listed, **extra}


def _virtual_output(conn: Conn, account_id: str, device: store.Entity) -> dict[str, Any]:
    out: dict[str, Any] = {"SerialNumber": device.arn}
    owner = assigned_to(device)
    user = store.get_entity(conn, account_id, store.USER, owner) if owner else None
    if user is not None:
        out["User"] = _user_output(user)
        out["EnableDate"] = _enable_date(device)
    return out


@handler("iam", "GetMFADevice")
def get_mfa_device(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An enabled device: its user and when it was enabled."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        device = require_device(conn, account_id, params["SerialNumber"])
        owner = assigned_to(device)
        wanted = params.get("UserName")
        if owner is None or (wanted and str(wanted).lower() != owner.lower()):
            raise NoSuchEntity("MFA Device invalid for user.")
    return {"UserName": owner, "SerialNumber": device.arn, "EnableDate": _enable_date(device)}


# --- for STS (a later issue) ---------------------------------------------------------------------------


def verify_mfa_code(
    session: Session, account_id: str, serial: str, code: str, when: dt.datetime, *, master_key: MasterKey
) -> bool:
    """Whether ``code`` is a valid, unused code of an enabled device; a valid code is used up.

    The search is centred on the server's time shifted by the device's
    measured drift; the matched counter becomes LastCounter in ``session``.
    """
    device = get_device(session, account_id, serial)
    if device is None or not assigned_to(device):
        return False
    try:
        seed = _seed(master_key, device)
    except InvalidAuthenticationCode:
        return False
    last = int(device.data.get("LastCounter", -1))
    drift = int(device.data.get("Drift", 0))
    counter = totp.matching_counter(seed, code, when, VERIFY_WINDOW, last, drift=drift)
    if counter is None:
        return False
    store.update_entity(session, device, data={**device.data, "LastCounter": counter})
    return True
