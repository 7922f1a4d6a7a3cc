"""IAM account aliases: the friendly name in an account's sign-in URL.

An account has at most one alias (a new one replaces the old, as AWS's
user guide says), and an alias is unique across every account this server
hosts, as it is across AWS.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import EntityAlreadyExists, NoSuchEntity
from rampart.storage.schema import iam_account_settings


def ensure_settings_row(session: Session, account_id: str) -> None:
    """Make sure the account has its ``iam_account_settings`` row (settings start empty)."""
    found = session.execute(
        select(iam_account_settings.c.account_id).where(iam_account_settings.c.account_id == account_id)
    ).first()
    if found is None:
        session.execute(insert(iam_account_settings).values(account_id=account_id))


def current_alias(conn: Connection | Session, account_id: str) -> str | None:
    """The account's alias, or None."""
    return conn.execute(
        select(iam_account_settings.c.alias).where(iam_account_settings.c.account_id == account_id)
    ).scalar()


def _set_alias(session: Session, account_id: str, alias: str | None) -> None:
    ensure_settings_row(session, account_id)
    session.execute(
        update(iam_account_settings).where(iam_account_settings.c.account_id == account_id).values(alias=alias)
    )


@handler("iam", "CreateAccountAlias")
def create_account_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Name the account; an alias held by another account is refused (aliases are global)."""
    alias: str = params["AccountAlias"]
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        holder = s.execute(
            select(iam_account_settings.c.account_id).where(iam_account_settings.c.alias == alias)
        ).scalar()
        if holder is not None and holder != account_id:
            raise EntityAlreadyExists(f"The account alias {alias} already exists.")
        if holder is None:
            try:
                _set_alias(s, account_id, alias)
            except IntegrityError:  # another account took it concurrently (the column is unique)
                raise EntityAlreadyExists(f"The account alias {alias} already exists.") from None
    return {}


@handler("iam", "DeleteAccountAlias")
def delete_account_alias(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the alias; naming one the account does not have is NoSuchEntity."""
    alias: str = params["AccountAlias"]
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        if current_alias(s, account_id) != alias:
            raise NoSuchEntity(f"The account alias {alias} cannot be found.")
        _set_alias(s, account_id, None)
    return {}


@handler("iam", "ListAccountAliases")
def list_account_aliases(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The account's alias as a list of zero or one (the API's shape predates the one-alias rule)."""
    with call.gateway.db.read() as conn:
        alias = current_alias(conn, call.account_id or "")
    items, extra = store.page([alias] if alias else [], params, key=lambda a: a)
    return {"AccountAliases": items, **extra}
