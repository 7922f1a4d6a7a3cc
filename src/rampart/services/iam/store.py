"""The queries every IAM handler shares: entities, ids, ARNs, paging, documents, tags.

Handlers open their own transaction (``call.gateway.db.session()`` to write,
``.read()`` to read) and pass it here. Every write that can change what a
principal may do calls ``changed(session, account_id)`` so the authorizer's
cache forgets that account once the transaction commits.

IAM names are unique without regard to case ("Alice" and "alice" cannot both
exist) and are found the same way, so every lookup folds case.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import urllib.parse
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from rampart.policy import MalformedPolicyDocument, PolicyType, validate_policy
from rampart.services.iam.errors import (
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocumentError,
    NoSuchEntity,
)
from rampart.storage.generations import bump_generation
from rampart.storage.schema import iam_entities

T = TypeVar("T")

USER, GROUP, ROLE, POLICY = "user", "group", "role", "policy"
INSTANCE_PROFILE, MFA = "instance-profile", "mfa"
OIDC_PROVIDER, SAML_PROVIDER = "oidc-provider", "saml-provider"

# AWS's unique-id prefixes (documented in the IAM identifiers reference).
ID_PREFIX = {
    USER: "AIDA",
    GROUP: "AGPA",
    ROLE: "AROA",
    POLICY: "ANPA",
    INSTANCE_PROFILE: "AIPA",
}
# How NoSuchEntity names each kind, as AWS words it.
_NOUN = {
    USER: "user",
    GROUP: "group",
    ROLE: "role",
    POLICY: "policy",
    INSTANCE_PROFILE: "Instance Profile",
    MFA: "MFA device",
    OIDC_PROVIDER: "OpenIDConnect Provider",
    SAML_PROVIDER: "SAML Provider",
}
DEFAULT_MAX_ITEMS = 100
TAG_LIMIT = 50
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

# Documents are limited in characters *excluding whitespace* (IAM's quotas page).
SIZE_LIMITS = {"user-inline": 2048, "group-inline": 5120, "role-inline": 10240, "managed": 6144, "trust": 2048}


@dataclass(frozen=True, slots=True)
class Entity:
    """One row of ``iam_entities``: the common attributes plus the kind's own (``data``)."""

    account_id: str
    kind: str
    name: str
    path: str
    entity_id: str
    arn: str
    created_at: dt.datetime
    data: dict[str, Any]
    tags: list[dict[str, str]]

    @property
    def tag_map(self) -> dict[str, str]:
        """Tags as a dict (aws:ResourceTag/*, aws:PrincipalTag/*)."""
        return {t["Key"]: t["Value"] for t in self.tags}


def new_entity_id(prefix: str) -> str:
    """A unique id in AWS's form: a four-letter prefix and 17 base32 characters."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def arn_for(account_id: str, kind: str, name: str, path: str = "/") -> str:
    """The ARN of an IAM entity (path-qualified for the kinds that have paths)."""
    if kind in (OIDC_PROVIDER, SAML_PROVIDER):
        return f"arn:aws:iam::{account_id}:{kind}/{name}"
    return f"arn:aws:iam::{account_id}:{kind}{path}{name}"


def _row_to_entity(row: Any) -> Entity:
    return Entity(
        row.account_id,
        row.kind,
        row.name,
        row.path,
        row.entity_id,
        row.arn,
        row.created_at,
        orjson.loads(row.data),
        orjson.loads(row.tags),
    )


# Built once: constructing a statement costs more than running it. The case-folded
# name is indexed (migration 0003), so the lookup is an index probe, not a scan.
_GET_ENTITY = select(iam_entities).where(
    iam_entities.c.account_id == bindparam("account_id"),
    iam_entities.c.kind == bindparam("kind"),
    func.lower(iam_entities.c.name) == bindparam("folded"),
)
_GET_BY_ARN = select(iam_entities).where(
    iam_entities.c.arn == bindparam("arn"), iam_entities.c.account_id == bindparam("account_id")
)


def get_entity(conn: Connection | Session, account_id: str, kind: str, name: str) -> Entity | None:
    """The entity, found without regard to case, or None."""
    row = conn.execute(_GET_ENTITY, {"account_id": account_id, "kind": kind, "folded": name.lower()}).first()
    return _row_to_entity(row) if row is not None else None


def require_entity(conn: Connection | Session, account_id: str, kind: str, name: str) -> Entity:
    """The entity, or NoSuchEntity in AWS's words."""
    found = get_entity(conn, account_id, kind, name)
    if found is None:
        raise NoSuchEntity(no_such_message(kind, name))
    return found


def no_such_message(kind: str, name: str) -> str:
    """AWS's NoSuchEntity message for a kind and name."""
    if kind == POLICY:
        return f"Policy {name} does not exist or is not attachable."
    if kind == INSTANCE_PROFILE:
        return f"Instance Profile {name} cannot be found."
    if kind == MFA:
        return f"MFA device with serial number {name} does not exist."
    if kind in (OIDC_PROVIDER, SAML_PROVIDER):
        return f"{_NOUN[kind]} not found for arn {name}"
    return f"The {_NOUN[kind]} with name {name} cannot be found."


def get_entity_by_arn(
    conn: Connection | Session, account_id: str, arn: str, kinds: Collection[str] | None = None
) -> Entity | None:
    """An entity of ``account_id`` by ARN (of one of ``kinds``, when given), or None.

    Policies, MFA devices and providers are named by ARN in the API; the
    account is part of the lookup so no caller can reach another account's
    entity by naming it.
    """
    row = conn.execute(_GET_BY_ARN, {"arn": arn, "account_id": account_id}).first()
    if row is None or (kinds is not None and row.kind not in kinds):
        return None
    return _row_to_entity(row)


def insert_entity(
    session: Session,
    account_id: str,
    kind: str,
    name: str,
    *,
    path: str = "/",
    data: dict[str, Any] | None = None,
    tags: Sequence[dict[str, str]] = (),
    created_at: dt.datetime,
    entity_id: str | None = None,
    arn: str | None = None,
) -> Entity:
    """Create an entity; EntityAlreadyExists when the name is taken (in any case)."""
    if get_entity(session, account_id, kind, name) is not None:
        raise EntityAlreadyExists(already_exists_message(kind, name))
    check_tags(tags)
    entity = Entity(
        account_id,
        kind,
        name,
        path,
        entity_id or new_entity_id(ID_PREFIX.get(kind, "ANPA")),
        arn or arn_for(account_id, kind, name, path),
        created_at,
        dict(data or {}),
        [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags],
    )
    session.execute(
        insert(iam_entities).values(
            account_id=account_id,
            kind=kind,
            name=name,
            path=path,
            entity_id=entity.entity_id,
            arn=entity.arn,
            created_at=created_at,
            data=orjson.dumps(entity.data).decode(),
            tags=orjson.dumps(entity.tags).decode(),
        )
    )
    changed(session, account_id)
    return entity


def already_exists_message(kind: str, name: str) -> str:
    """AWS's EntityAlreadyExists message for a kind and name."""
    if kind == POLICY:
        return f"A policy called {name} already exists. Duplicate names are not allowed."
    if kind == INSTANCE_PROFILE:
        return f"Instance Profile {name} already exists."
    if kind == MFA:
        return "MFADevice entity at the same path and name already exists."
    if kind in (OIDC_PROVIDER, SAML_PROVIDER):
        return f"Provider with url {name} already exists."
    return f"{_NOUN[kind].capitalize()} with name {name} already exists."


def update_entity(
    session: Session,
    entity: Entity,
    *,
    data: dict[str, Any] | None = None,
    tags: Sequence[dict[str, str]] | None = None,
    path: str | None = None,
    name: str | None = None,
) -> Entity:
    """Change an entity's attributes, tags, path or name (the ARN follows path and name)."""
    new_name = entity.name if name is None else name
    new_path = entity.path if path is None else path
    if name is not None and name.lower() != entity.name.lower():
        if get_entity(session, entity.account_id, entity.kind, name) is not None:
            raise EntityAlreadyExists(already_exists_message(entity.kind, name))
    arn = entity.arn
    if entity.kind not in (OIDC_PROVIDER, SAML_PROVIDER):
        arn = arn_for(entity.account_id, entity.kind, new_name, new_path)
    if tags is not None:
        check_tags(tags)
    updated = Entity(
        entity.account_id,
        entity.kind,
        new_name,
        new_path,
        entity.entity_id,
        arn,
        entity.created_at,
        entity.data if data is None else dict(data),
        entity.tags if tags is None else [dict(t) for t in tags],
    )
    session.execute(
        update(iam_entities)
        .where(
            iam_entities.c.account_id == entity.account_id,
            iam_entities.c.kind == entity.kind,
            iam_entities.c.name == entity.name,
        )
        .values(
            name=new_name,
            path=new_path,
            arn=arn,
            data=orjson.dumps(updated.data).decode(),
            tags=orjson.dumps(updated.tags).decode(),
        )
    )
    changed(session, entity.account_id)
    return updated


def delete_entity(session: Session, entity: Entity) -> None:
    """Remove an entity row (the caller removes what hangs off it first)."""
    session.execute(
        delete(iam_entities).where(
            iam_entities.c.account_id == entity.account_id,
            iam_entities.c.kind == entity.kind,
            iam_entities.c.name == entity.name,
        )
    )
    changed(session, entity.account_id)


def named(column: Any, name: str) -> ColumnElement[bool]:
    """A name comparison that folds case, as IAM names are matched (rows keyed by an owner's name)."""
    return func.lower(column) == name.lower()


def list_entities(
    conn: Connection | Session, account_id: str, kind: str, path_prefix: str = "/"
) -> list[Entity]:
    """Entities of one kind under a path prefix, in name order (case folded) as AWS lists them."""
    rows = conn.execute(
        select(iam_entities).where(
            iam_entities.c.account_id == account_id,
            iam_entities.c.kind == kind,
            iam_entities.c.path.startswith(path_prefix, autoescape=True),
        )
    ).all()
    return sorted((_row_to_entity(r) for r in rows), key=lambda e: e.name.lower())


# --- paging --------------------------------------------------------------------


def page(
    items: Sequence[T], params: dict[str, Any], key: Callable[[T], str], *, default_max: int = DEFAULT_MAX_ITEMS
) -> tuple[list[T], dict[str, Any]]:
    """One page of a sorted list, by IAM's Marker / MaxItems / IsTruncated rules.

    The marker names the first item of the next page (opaque to clients), so a
    page stays correct when items before it are added or removed.
    """
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            after = base64.urlsafe_b64decode(marker.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("Invalid Marker.") from None
        start = next((i for i, item in enumerate(items) if key(item) >= after), len(items))
    size = params.get("MaxItems") or default_max
    chunk = list(items[start : start + size])
    more = start + size < len(items)
    extra: dict[str, Any] = {"IsTruncated": more}
    if more:
        extra["Marker"] = base64.urlsafe_b64encode(key(items[start + size]).encode()).decode()
    return chunk, extra


# --- policy documents ------------------------------------------------------------


def encode_document(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986); clients decode them."""
    return urllib.parse.quote(document, safe="")


def document_size(document: str) -> int:
    """A policy's size as IAM's quotas count it: characters other than whitespace."""
    return sum(1 for ch in document if not ch.isspace())


def check_document(document: str, policy_type: PolicyType, limit_name: str) -> None:
    """Validate a policy document with the engine and IAM's size quota for its place.

    Sizes count characters without whitespace, as IAM's quotas page says.
    """
    limit = SIZE_LIMITS[limit_name]
    if document_size(document) > limit:
        raise LimitExceeded(f"Cannot exceed quota for {_QUOTA_NAME[limit_name]}: {limit}")
    try:
        validate_policy(document, policy_type)
    except MalformedPolicyDocument as bad:
        raise MalformedPolicyDocumentError(bad.message) from None


_QUOTA_NAME = {
    "user-inline": "PolicySize",
    "group-inline": "PolicySize",
    "role-inline": "PolicySize",
    "managed": "PolicySize",
    "trust": "ACLSizePerRole",
}


# --- tags ----------------------------------------------------------------------------


def check_tags(tags: Sequence[dict[str, str]]) -> None:
    """IAM's tag rules beyond the model: at most 50, keys unique without regard to case."""
    if len(tags) > TAG_LIMIT:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {TAG_LIMIT}.")
    seen = [t["Key"].lower() for t in tags]
    if len(set(seen)) != len(seen):
        raise InvalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")


def merge_tags(current: Sequence[dict[str, str]], new: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Tag{User,Role,...}: new values replace same-key (case-folded) tags, others are kept."""
    check_tags(new)
    replaced = {t["Key"].lower() for t in new}
    kept = [dict(t) for t in current if t["Key"].lower() not in replaced]
    return kept + [{"Key": t["Key"], "Value": t.get("Value", "")} for t in new]


def remove_tags(current: Sequence[dict[str, str]], keys: Sequence[str]) -> list[dict[str, str]]:
    """Untag{User,Role,...}: drop the named keys (case-folded); unknown keys are ignored."""
    gone = {k.lower() for k in keys}
    return [dict(t) for t in current if t["Key"].lower() not in gone]


# --- authorizer cache invalidation ----------------------------------------------------

_listeners: list[Callable[[str], None]] = []
_CHANGED = "rampart.iam_changed_accounts"


def on_change(listener: Callable[[str], None]) -> None:
    """Register a callback (account id) run when IAM state of an account changes."""
    _listeners.append(listener)


def changed(session: Session, account_id: str) -> None:
    """IAM state of ``account_id`` changed: tell listeners now and again after commit.

    The account's generation is bumped in the same transaction, so other
    server processes drop their cached copies too (``storage.generations``).
    """
    bump_generation(session, account_id)
    for listener in _listeners:
        listener(account_id)
    pending: set[str] = session.info.setdefault(_CHANGED, set())
    if account_id in pending:  # one after-commit notice per account, however many writes the call makes
        return
    pending.add(account_id)

    def after_commit(_session: Session) -> None:
        for listener in _listeners:
            listener(account_id)

    sa_event.listen(session, "after_commit", after_commit, once=True)


def iso(moment: dt.datetime | None) -> str | None:
    """A timestamp for the JSON ``data`` column."""
    return moment.isoformat() if moment else None


def from_iso(text: str | None) -> dt.datetime | None:
    """The inverse of ``iso``."""
    return dt.datetime.fromisoformat(text) if text else None
