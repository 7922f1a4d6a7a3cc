"""IAM access keys: create (two per user at most), list, activate/deactivate, delete, last use.

Keys live in the ``access_keys`` table that SigV4 reads on every request;
creation, status changes and deletion go through the account store inside
the handler's transaction, so a deactivated or deleted key stops
authenticating as soon as the call commits. Calls without a UserName act on
the caller's own keys, which for the root user are the account's root keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Row

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import LimitExceeded, NoSuchEntity
from rampart.services.iam.store import named
from rampart.services.iam.users import Conn, calling_user_name, require_user
from rampart.storage.schema import access_keys

KEYS_PER_USER = 2
NOT_USED = "N/A"


def _owner_rows(account_id: str, user_name: str | None) -> list[ColumnElement[bool]]:
    """The WHERE clauses for one user's keys, or the root user's when ``user_name`` is None."""
    if user_name is None:
        return [access_keys.c.account_id == account_id, access_keys.c.principal_kind == "root"]
    return [
        access_keys.c.account_id == account_id,
        access_keys.c.principal_kind == "user",
        named(access_keys.c.user_name, user_name),
    ]


def _keys_of(conn: Conn, account_id: str, user_name: str | None) -> list[Row]:
    """The owner's keys, oldest first (the order AWS lists them in)."""
    query = (
        select(access_keys.c.access_key_id, access_keys.c.user_name, access_keys.c.status, access_keys.c.created_at)
        .where(*_owner_rows(account_id, user_name))
        .order_by(access_keys.c.created_at, access_keys.c.access_key_id)
    )
    return list(conn.execute(query).all())


def _owner(conn: Conn, account_id: str, call: Call, params: dict[str, Any]) -> str | None:
    """The stored name of the user whose keys the call is about; None for root's own keys."""
    name = calling_user_name(call, params)
    return None if name is None else require_user(conn, account_id, name).name


def _require_key(conn: Conn, account_id: str, owner: str | None, key_id: str) -> Row:
    """The owner's key, or NoSuchEntity as AWS words it for a key that is not theirs."""
    for row in _keys_of(conn, account_id, owner):
        if row.access_key_id == key_id:
            return row
    raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")


def _metadata(row: Row) -> dict[str, Any]:
    """AccessKeyMetadata; root's keys carry no UserName."""
    out: dict[str, Any] = {"AccessKeyId": row.access_key_id, "Status": row.status, "CreateDate": row.created_at}
    if row.user_name:
        out["UserName"] = row.user_name
    return out


@handler("iam", "CreateAccessKey")
def create_access_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new active key pair; its secret is shown only in this answer."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        owner = _owner(s, account_id, call, params)
        if len(_keys_of(s, account_id, owner)) >= KEYS_PER_USER:
            raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}")
        kind = "root" if owner is None else "user"
        pair = call.gateway.accounts.add_access_key(account_id, kind, owner, session=s)
        created = _require_key(s, account_id, owner, pair.access_key_id)
    out = {**_metadata(created), "SecretAccessKey": pair.secret_access_key}
    return {"AccessKey": out}


@handler("iam", "ListAccessKeys")
def list_access_keys(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The owner's keys (ids, status, creation time; never secrets), one page at a time."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        owner = _owner(conn, account_id, call, params)
        rows = _keys_of(conn, account_id, owner)
    chunk, extra = store.page(rows, params, key=lambda r: f"{r.created_at.isoformat()}|{r.access_key_id}")
    return {"AccessKeyMetadata": [_metadata(r) for r in chunk], **extra}


@handler("iam", "UpdateAccessKey")
def update_access_key(call: Call, params: dict[str, Any]) -> None:
    """Activate or deactivate a key; an inactive key fails its very next request."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        owner = _owner(s, account_id, call, params)
        row = _require_key(s, account_id, owner, params["AccessKeyId"])
        call.gateway.accounts.set_access_key_status(row.access_key_id, params["Status"], session=s)


@handler("iam", "DeleteAccessKey")
def delete_access_key(call: Call, params: dict[str, Any]) -> None:
    """Delete a key for good; it stops authenticating at once."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        owner = _owner(s, account_id, call, params)
        row = _require_key(s, account_id, owner, params["AccessKeyId"])
        call.gateway.accounts.delete_access_key(row.access_key_id, session=s)


@handler("iam", "GetAccessKeyLastUsed")
def get_access_key_last_used(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """When, with which service and in which region a key of this account last signed a request."""
    call.gateway.accounts.flush_key_use()
    key_id = params["AccessKeyId"]
    with call.gateway.db.read() as conn:
        row = conn.execute(
            select(access_keys).where(
                access_keys.c.access_key_id == key_id, access_keys.c.account_id == (call.account_id or "")
            )
        ).first()
    if row is None:
        raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
    used: dict[str, Any] = {"ServiceName": NOT_USED, "Region": NOT_USED}
    if row.last_used_at is not None:
        used = {
            "LastUsedDate": row.last_used_at,
            "ServiceName": row.last_used_service or NOT_USED,
            "Region": row.last_used_region or NOT_USED,
        }
    out: dict[str, Any] = {"AccessKeyLastUsed": used}
    if row.user_name:
        out["UserName"] = row.user_name
    return out
