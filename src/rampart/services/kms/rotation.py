"""Key rotation: automatic (a scheduled job) and on demand; old material stays for decryption.

Rotation adds a material version and makes it current; blobs name the version
they were sealed under, so they still open. Only symmetric customer managed
keys rotate, as in AWS.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.jobs import job
from rampart.services.kms import crypto
from rampart.services.kms.errors import (
    LimitExceededException,
    UnsupportedOperationException,
)
from rampart.services.kms.keys import Db, Key, find, key_from_row, require_usable
from rampart.services.kms.lifecycle import add_material
from rampart.services.kms.pages import listing
from rampart.services.kms.tables import kms_key_materials, kms_keys

DEFAULT_PERIOD_DAYS = 365
ON_DEMAND_LIMIT = 10  # AWS's quota of on-demand rotations per key


def _rotatable(call: Call, db: Db, params: dict[str, Any]) -> Key:
    """The key named, when it can rotate: symmetric and customer managed (UnsupportedOperationException)."""
    key = find(call, db, params["KeyId"])
    if key.key_spec != crypto.SYMMETRIC or key.manager != "CUSTOMER":
        raise UnsupportedOperationException(f"{key.arn} key type does not support rotation.")
    return key


def rotate(master: Any, db: Db, key: Key, kind: str, now: dt.datetime) -> int:
    """Add fresh material as the key's current version; returns the new version."""
    version = key.current_version + 1
    add_material(master, db, key.key_id, version, crypto.new_material(key.key_spec), kind, now)
    values: dict[str, Any] = {"current_version": version}
    if kind == "AUTOMATIC" and key.rotation_days:
        values["next_rotation_at"] = now + dt.timedelta(days=key.rotation_days)
    db.execute(update(kms_keys).where(kms_keys.c.key_id == key.key_id).values(**values))
    return version


@handler("kms", "EnableKeyRotation")
def enable_key_rotation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Automatic rotation every RotationPeriodInDays (90-2560, default 365)."""
    days = int(params.get("RotationPeriodInDays") or DEFAULT_PERIOD_DAYS)
    with call.gateway.db.session() as session:
        key = _rotatable(call, session, params)
        require_usable(key)
        session.execute(update(kms_keys).where(kms_keys.c.key_id == key.key_id).values(
            rotation_days=days, next_rotation_at=call.received_at + dt.timedelta(days=days)))
    return {}


@handler("kms", "DisableKeyRotation")
def disable_key_rotation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """No more automatic rotation (existing versions stay)."""
    with call.gateway.db.session() as session:
        key = _rotatable(call, session, params)
        require_usable(key)
        session.execute(update(kms_keys).where(kms_keys.c.key_id == key.key_id)
                        .values(rotation_days=None, next_rotation_at=None))
    return {}


@handler("kms", "GetKeyRotationStatus")
def get_key_rotation_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Whether automatic rotation is on, its period and next date."""
    with call.gateway.db.read() as conn:
        key = find(call, conn, params["KeyId"])
    out: dict[str, Any] = {"KeyRotationEnabled": key.rotation_days is not None, "KeyId": key.arn}
    if key.rotation_days is not None:
        out["RotationPeriodInDays"] = key.rotation_days
        out["NextRotationDate"] = key.next_rotation_at
    return out


@handler("kms", "RotateKeyOnDemand")
def rotate_key_on_demand(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """New material now (at most ON_DEMAND_LIMIT times per key)."""
    with call.gateway.db.session() as session:
        key = _rotatable(call, session, params)
        require_usable(key)
        done = session.execute(select(func.count()).select_from(kms_key_materials).where(
            kms_key_materials.c.key_id == key.key_id, kms_key_materials.c.rotation_type == "ON_DEMAND")).scalar_one()
        if done >= ON_DEMAND_LIMIT:
            raise LimitExceededException(f"{key.arn} has reached the limit of {ON_DEMAND_LIMIT} on-demand rotations.")
        rotate(call.gateway.accounts.master_key, session, key, "ON_DEMAND", call.received_at)
    return {"KeyId": key.key_id}


@handler("kms", "ListKeyRotations")
def list_key_rotations(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Completed rotations, oldest first."""
    with call.gateway.db.read() as conn:
        key = _rotatable(call, conn, params)
        rows = list(conn.execute(select(kms_key_materials.c.version, kms_key_materials.c.created_at,
                                        kms_key_materials.c.rotation_type)
                                 .where(kms_key_materials.c.key_id == key.key_id, kms_key_materials.c.version > 1)
                                 .order_by(kms_key_materials.c.version)))
    items = [{"KeyId": key.key_id, "RotationDate": row.created_at, "RotationType": row.rotation_type,
              "_position": f"{row.version:010d}"} for row in rows]
    out = listing("Rotations", items, params, lambda item: item["_position"])
    out["Rotations"] = [{k: v for k, v in item.items() if k != "_position"} for item in out["Rotations"]]
    return out


@job("kms.key-rotation", every_seconds=3600)
def rotate_due_keys(gateway: Any, now: dt.datetime) -> None:
    """Rotate every enabled key whose next automatic rotation date has come."""
    with gateway.db.session() as session:
        rows = list(session.execute(select(kms_keys).where(kms_keys.c.next_rotation_at <= now,
                                                           kms_keys.c.state == "Enabled").with_for_update()))
        for row in rows:
            key = key_from_row(row)
            rotate(gateway.accounts.master_key, session, key, "AUTOMATIC", now)

