"""Aliases: friendly names for keys, per account and region; alias/aws/* belongs to AWS."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.kms.errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    KMSInvalidStateException,
    NotFoundException,
)
from rampart.services.kms.keys import Db, Key, alias_arn, authorized_alias_target, find
from rampart.services.kms.pages import listing
from rampart.services.kms.tables import kms_aliases, kms_keys

_NAME = re.compile(r"^alias/[a-zA-Z0-9/_-]+$")


def _check_name(name: str) -> None:
    """AWS's alias rules: alias/ prefix, letters, digits, / _ -, and not alias/aws/."""
    if not _NAME.match(name):
        raise InvalidAliasNameException(f"Alias name {name} is not valid.")
    if name.startswith("alias/aws/"):
        raise InvalidAliasNameException(f"Alias {name} is reserved for AWS managed keys.")


def insert_alias(db: Db, call: Call, name: str, key_id: str) -> None:
    """Store an alias (IntegrityError when the name is taken)."""
    db.execute(insert(kms_aliases).values(account_id=call.account_id, region=call.region, name=name, key_id=key_id,
                                          created_at=call.received_at, updated_at=call.received_at))


def _target(call: Call, db: Db, params: dict[str, Any]) -> Key:
    """The key an alias is to point to: a key (not an alias) of the caller's account, not pending deletion."""
    key = find(call, db, params["TargetKeyId"])
    if params["TargetKeyId"].startswith("alias/") or ":alias/" in params["TargetKeyId"]:
        raise InvalidAliasNameException("An alias cannot point to another alias.")
    if key.account_id != call.account_id:
        raise NotFoundException(f"Key '{key.arn}' does not exist")
    if key.state == "PendingDeletion":
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
    return key


@handler("kms", "CreateAlias")
def create_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new alias for a key of the caller's account."""
    name = params["AliasName"]
    _check_name(name)
    with call.gateway.db.session() as session:
        key = _target(call, session, params)
        exists = session.execute(select(kms_aliases.c.name).where(
            kms_aliases.c.account_id == call.account_id, kms_aliases.c.region == call.region,
            kms_aliases.c.name == name)).first()
        if exists:
            raise AlreadyExistsException(f"An alias with the name {alias_arn(call.region, call.account_id or '', name)}"
                                         " already exists")
        try:
            with session.begin_nested():
                insert_alias(session, call, name, key.key_id)
        except IntegrityError as exc:
            raise AlreadyExistsException(f"An alias with the name {name} already exists") from exc
    return {}


def _existing(call: Call, db: Db, name: str) -> Any:
    """The alias row to change, still pointing at the key the authorize step asked about.

    If the alias was repointed (or created) between authorization and this write, the caller was never
    authorized on the key it points to now: refuse rather than act on it.
    """
    row = db.execute(select(kms_aliases).where(kms_aliases.c.account_id == call.account_id,
                                               kms_aliases.c.region == call.region,
                                               kms_aliases.c.name == name).with_for_update()).one_or_none()
    authorized = authorized_alias_target(call, name)  # None: no live key behind it when authorized
    if row is None or authorized is None:
        raise NotFoundException(f"Alias {alias_arn(call.region, call.account_id or '', name)} is not found.")
    if authorized != row.key_id:
        raise KMSInvalidStateException(f"Alias {name} changed while this request was processed; try again.")
    return row


@handler("kms", "UpdateAlias")
def update_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Point an alias at another key (of the same type and usage, as AWS requires)."""
    name = params["AliasName"]
    _check_name(name)
    with call.gateway.db.session() as session:
        row = _existing(call, session, name)
        key = _target(call, session, params)
        old = session.execute(select(kms_keys.c.key_spec, kms_keys.c.key_usage)
                              .where(kms_keys.c.key_id == row.key_id)).one()
        if (old.key_spec, old.key_usage) != (key.key_spec, key.key_usage):
            raise KMSInvalidStateException("The new key must have the same key spec and key usage as the old one.")
        session.execute(update(kms_aliases).where(
            kms_aliases.c.account_id == call.account_id, kms_aliases.c.region == call.region,
            kms_aliases.c.name == name).values(key_id=key.key_id, updated_at=call.received_at))
    return {}


@handler("kms", "DeleteAlias")
def delete_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove an alias (the key stays)."""
    name = params["AliasName"]
    _check_name(name)
    with call.gateway.db.session() as session:
        _existing(call, session, name)
        session.execute(delete(kms_aliases).where(
            kms_aliases.c.account_id == call.account_id, kms_aliases.c.region == call.region,
            kms_aliases.c.name == name))
    return {}


@handler("kms", "ListAliases")
def list_aliases(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The account's aliases in this region, optionally those of one key."""
    # Aliases of a key past its deletion date are gone with it, whether or not the deletion job ran yet.
    query = (select(kms_aliases).join(kms_keys, kms_keys.c.key_id == kms_aliases.c.key_id)
             .where(kms_aliases.c.account_id == call.account_id, kms_aliases.c.region == call.region,
                    or_(kms_keys.c.deletion_date.is_(None), kms_keys.c.deletion_date > call.received_at))
             .order_by(kms_aliases.c.name))
    with call.gateway.db.read() as conn:
        if params.get("KeyId"):
            key = find(call, conn, params["KeyId"])
            query = query.where(kms_aliases.c.key_id == key.key_id)
        rows = list(conn.execute(query))
    items = [{"AliasName": row.name, "AliasArn": alias_arn(call.region, call.account_id or "", row.name),
              "TargetKeyId": row.key_id, "CreationDate": row.created_at, "LastUpdatedDate": row.updated_at}
             for row in rows]
    return listing("Aliases", items, params, lambda item: item["AliasName"])

