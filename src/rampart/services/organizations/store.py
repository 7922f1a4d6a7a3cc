"""The queries every Organizations handler shares: the caller's organization, ids, ARNs, paging, changes.

Handlers open their own transaction and pass it here. Every write that can
change what an account may do (membership, tree, policies, attachments,
enabled types) calls ``changed(session, org)`` so the authorizer's cache of
SCP / RCP levels is forgotten after commit, here and (through the accounts'
generations) in other server processes.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.services.organizations.errors import (
    NO_PERMISSION,
    NOT_IN_USE,
    ConstraintViolation,
    InvalidInput,
    NotInUse,
    OrgAccessDenied,
)
from rampart.services.organizations.tables import (
    org_accounts,
    org_organizations,
    org_tags,
)
from rampart.storage.generations import bump_generation

Conn = Connection | Session
T = TypeVar("T")

WRITE_LOCK = "rampart.organizations"
SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
POLICY_TYPES = (SCP, RCP)
_LOWER_DIGITS = string.ascii_lowercase + string.digits
DEFAULT_MAX_RESULTS = 20


@dataclass(frozen=True, slots=True)
class Org:
    """One organization row."""

    org_id: str
    management_account_id: str
    root_id: str
    feature_set: str
    policy_types: tuple[str, ...]

    def arn(self, kind: str, rest: str) -> str:
        """An ARN of this organization's resources (they live in the management account)."""
        return f"arn:aws:organizations::{self.management_account_id}:{kind}/{self.org_id}/{rest}"

    @property
    def org_arn(self) -> str:
        """The organization's own ARN."""
        return f"arn:aws:organizations::{self.management_account_id}:organization/{self.org_id}"


@contextmanager
def writing(call: Call) -> Iterator[Session]:
    """The call's write transaction, holding Organizations' lock from its first statement.

    Every handler checks before it writes (is the account in an organization
    yet, is the name free, is the policy attached already). SQLite runs one
    writer at a time anyway; on PostgreSQL two requests could both pass the
    check, leaving duplicates or a unique-key violation (a 500). Writes to
    organizations are rare, so one lock for all of them is enough.
    """
    with call.gateway.db.session() as session:
        call.gateway.db.lock(session, WRITE_LOCK)
        yield session


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_org_id() -> str:
    """``o-`` and 10 lower-case letters or digits, as AWS's."""
    return "o-" + _random(_LOWER_DIGITS, 10)


def new_root_id() -> str:
    """``r-`` and 4 lower-case letters or digits."""
    return "r-" + _random(_LOWER_DIGITS, 4)


def new_ou_id(root_id: str) -> str:
    """``ou-``, the root's 4 characters, ``-`` and 8 more, as AWS's."""
    return f"ou-{root_id[2:]}-" + _random(_LOWER_DIGITS, 8)


def new_policy_id() -> str:
    """``p-`` and 8 lower-case letters or digits."""
    return "p-" + _random(_LOWER_DIGITS, 8)


def new_handshake_id() -> str:
    """``h-`` and 10 lower-case letters or digits."""
    return "h-" + _random(_LOWER_DIGITS, 10)


def new_create_request_id() -> str:
    """``car-`` and 32 lower-case letters or digits."""
    return "car-" + _random(_LOWER_DIGITS, 32)


def _org_of(row: Any) -> Org:
    return Org(row.org_id, row.management_account_id, row.root_id, row.feature_set,
               tuple(orjson.loads(row.policy_types)))


def org_of_account(conn: Conn, account_id: str) -> Org | None:
    """The organization ``account_id`` belongs to (as management account or member), or None."""
    row = conn.execute(
        select(org_organizations).join(org_accounts, org_accounts.c.org_id == org_organizations.c.org_id)
        .where(org_accounts.c.account_id == account_id)
    ).first()
    return _org_of(row) if row is not None else None


def member_org(conn: Conn, call: Call) -> Org:
    """The caller's organization, or AWSOrganizationsNotInUseException."""
    found = org_of_account(conn, call.account_id or "")
    if found is None:
        raise NotInUse(NOT_IN_USE)
    return found


def management_org(conn: Conn, call: Call) -> Org:
    """The caller's organization when the caller is its management account; else AWS's refusal."""
    found = member_org(conn, call)
    if found.management_account_id != call.account_id:
        raise OrgAccessDenied(NO_PERMISSION)
    return found


def account_ids(conn: Conn, org_id: str) -> list[str]:
    """Every account of an organization, the management account included."""
    rows = conn.execute(select(org_accounts.c.account_id).where(org_accounts.c.org_id == org_id)).all()
    return [row.account_id for row in rows]


def check_policy_type(value: str) -> str:
    """A policy type Rampart enforces, or InvalidInputException (INVALID_ENUM_POLICY_TYPE)."""
    if value not in POLICY_TYPES:
        raise InvalidInput("You specified a value that is not valid.", "INVALID_ENUM_POLICY_TYPE")
    return value


# --- paging ---------------------------------------------------------------------------------


def page(items: Sequence[T], params: dict[str, Any], key: Callable[[T], str], member: str) -> dict[str, Any]:
    """One page of ``items`` (sorted by ``key``) under ``member``, with NextToken when more remain.

    The token is the last key handed out, so a page stays right when items
    are added or removed between calls.
    """
    ordered = sorted(items, key=key)
    token = params.get("NextToken")
    if token:
        after = _token_key(token)
        ordered = [item for item in ordered if key(item) > after]
    limit = int(params.get("MaxResults") or DEFAULT_MAX_RESULTS)
    shown = ordered[:limit]
    out: dict[str, Any] = {member: shown}
    if len(ordered) > limit:
        out["NextToken"] = base64.urlsafe_b64encode(key(shown[-1]).encode()).decode()
    return out


def _token_key(token: str) -> str:
    """The key a NextToken of ``page`` holds; InvalidInputException for anything ``page`` did not write.

    The decoder alone would skip characters outside the alphabet (a garbled
    token would silently restart the listing), so the token must re-encode to itself.
    """
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        after = raw.decode()
    except (ValueError, UnicodeError):  # binascii.Error is a ValueError
        after = None
    if not after or base64.urlsafe_b64encode(raw).decode() != token:
        raise InvalidInput("The specified pagination token isn't valid.", "INVALID_NEXT_TOKEN")
    return after


# --- cache invalidation ---------------------------------------------------------------------

_listeners: list[Callable[[], None]] = []
_PENDING = "rampart.org_changed"


def on_change(listener: Callable[[], None]) -> None:
    """Register a callback run (now and after commit) when any organization changes."""
    _listeners.append(listener)


def changed(session: Session, org_id: str, *extra_accounts: str) -> None:
    """An organization's tree or policies changed: every account in it may now be governed differently.

    Each account's generation is bumped in this transaction (other processes
    drop their copies); this process forgets at once and again after commit.
    """
    for account_id in {*account_ids(session, org_id), *extra_accounts}:
        bump_generation(session, account_id)
    for listener in _listeners:
        listener()
    if session.info.get(_PENDING):
        return
    session.info[_PENDING] = True

    def after_commit(_session: Session) -> None:
        for listener in _listeners:
            listener()

    sa_event.listen(session, "after_commit", after_commit, once=True)


# --- tags ---------------------------------------------------------------------------------------

MAX_TAGS = 50


def read_tags(conn: Conn, org: Org, resource_id: str) -> list[dict[str, str]]:
    """A resource's tags as the API's list of {Key, Value}."""
    row = conn.execute(select(org_tags.c.tags).where(org_tags.c.org_id == org.org_id,
                                                     org_tags.c.resource_id == resource_id)).first()
    return list(orjson.loads(row.tags)) if row is not None else []


def write_tags(session: Session, org: Org, resource_id: str, new: Sequence[dict[str, str]],
               remove: Sequence[str] = ()) -> None:
    """Merge ``new`` into a resource's tags (a key given again is overwritten) and drop ``remove``.

    More than 50 tags is ConstraintViolationException (MAX_TAG_LIMIT_EXCEEDED);
    a key twice in one request is InvalidInputException (DUPLICATE_TAG_KEY).
    """
    keys = [t["Key"] for t in new]
    if len(set(keys)) != len(keys):
        raise InvalidInput("You specified a tag key more than once.", "DUPLICATE_TAG_KEY")
    merged = {t["Key"]: t.get("Value", "") for t in read_tags(session, org, resource_id)}
    merged.update({t["Key"]: t.get("Value", "") for t in new})
    for key in remove:
        merged.pop(key, None)
    if len(merged) > MAX_TAGS:
        raise ConstraintViolation("You have exceeded the maximum number of tags allowed on this resource.",
                                  "MAX_TAG_LIMIT_EXCEEDED")
    session.execute(delete(org_tags).where(org_tags.c.org_id == org.org_id, org_tags.c.resource_id == resource_id))
    if merged:
        body = orjson.dumps([{"Key": k, "Value": v} for k, v in merged.items()]).decode()
        session.execute(insert(org_tags).values(org_id=org.org_id, resource_id=resource_id, tags=body))
