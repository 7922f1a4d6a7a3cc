"""Per-organization state that has no table of its own: closed accounts, delegated administrators, trusted services.

Stored as one JSON document per organization in ``org_settings``; the row
goes with its organization (ON DELETE CASCADE).

Shape::

    {"closed": {ACCOUNT_ID: ISO-8601 time of CloseAccount},
     "delegated": {SERVICE_PRINCIPAL: {ACCOUNT_ID: ISO-8601 time}},
     "services": {SERVICE_PRINCIPAL: ISO-8601 time}}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import delete, insert, select

from rampart.services.organizations import store
from rampart.services.organizations.tables import org_settings

PENDING_CLOSURE_FOR = dt.timedelta(minutes=1)
"""How long a closing account reports PENDING_CLOSURE before SUSPENDED (AWS: "a few minutes")."""


@dataclass
class Settings:
    """The decoded settings of one organization."""

    closed: dict[str, str] = field(default_factory=dict)
    delegated: dict[str, dict[str, str]] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)

    def closed_at(self, account_id: str) -> dt.datetime | None:
        """When ``account_id`` was closed, or None."""
        found = self.closed.get(account_id)
        return dt.datetime.fromisoformat(found) if found else None

    def services_of(self, account_id: str) -> dict[str, str]:
        """{service principal: date} for which ``account_id`` is a delegated administrator."""
        return {svc: accts[account_id] for svc, accts in self.delegated.items() if account_id in accts}


def read(conn: store.Conn, org_id: str) -> Settings:
    """The organization's settings (empty when none were ever written)."""
    text = conn.execute(select(org_settings.c.document).where(org_settings.c.org_id == org_id)).scalar_one_or_none()
    if text is None:
        return Settings()
    data: dict[str, Any] = orjson.loads(text)
    return Settings(dict(data.get("closed", {})), {k: dict(v) for k, v in data.get("delegated", {}).items()},
                    dict(data.get("services", {})))


def write(session: store.Session, org_id: str, settings: Settings) -> None:
    """Replace the organization's settings row."""
    session.execute(delete(org_settings).where(org_settings.c.org_id == org_id))
    body = orjson.dumps({"closed": settings.closed, "delegated": {k: v for k, v in settings.delegated.items() if v},
                         "services": settings.services}).decode()
    session.execute(insert(org_settings).values(org_id=org_id, document=body))


def account_status(settings: Settings, account_id: str, now: dt.datetime) -> str:
    """ACTIVE, PENDING_CLOSURE (just closed) or SUSPENDED, as DescribeAccount reports Status."""
    closed = settings.closed_at(account_id)
    if closed is None:
        return "ACTIVE"
    return "PENDING_CLOSURE" if now < closed + PENDING_CLOSURE_FOR else "SUSPENDED"


def is_closed(conn: store.Conn, org_id: str, account_id: str) -> bool:
    """Whether the account was closed (pending or suspended: either way its principals are refused)."""
    return account_id in read(conn, org_id).closed


ORGANIZATIONS_PRINCIPAL = "organizations.amazonaws.com"


def readable_org(conn: store.Conn, call: Any) -> store.Org:
    """The caller's organization for a read-only API: the management account, or a delegated administrator
    for organizations.amazonaws.com (AWS lets it call the Describe* / List* operations); else AccessDenied."""
    found = store.member_org(conn, call)
    if found.management_account_id == call.account_id:
        return found
    if call.account_id in read(conn, found.org_id).delegated.get(ORGANIZATIONS_PRINCIPAL, {}):
        return found
    raise store.OrgAccessDenied(store.NO_PERMISSION)
