"""Key records and key material: finding a key by any of its names, its state, its material.

A key is named by its id, its ARN, an alias name or an alias ARN; the account
and region of a bare id or alias name are the caller's. Material is read
only through ``material`` (master-key AES-GCM, AAD naming key id and version).
A key whose deletion date has passed counts as destroyed from that instant,
whether or not the deletion job has deleted its rows yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.services.kms.errors import (
    DisabledException,
    DryRunOperationException,
    KMSInvalidStateException,
    NotFoundException,
    UnsupportedOperationException,
)
from rampart.services.kms.tables import (
    kms_aliases,
    kms_grants,
    kms_key_materials,
    kms_keys,
)

# Operations AWS allows on another account's key (the "Cross-account use" column of the KMS permissions
# reference); any other operation names only keys of the caller's own account.
CROSS_ACCOUNT_OPERATIONS = frozenset({
    "CreateGrant", "Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "GenerateMac", "GetKeyRotationStatus",
    "GetPublicKey", "ListGrants", "ReEncrypt", "RetireGrant", "RevokeGrant", "Sign", "Verify", "VerifyMac",
})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ARN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)$")
Db = Connection | Session


# Statements built once (the hot paths run them on every Encrypt and Decrypt).
_KEY = select(kms_keys).where(kms_keys.c.key_id == bindparam("key_id"))
# Writers lock the key row (PostgreSQL; SQLite's writers already hold the database's write lock), so two
# writers never both act on what they read: no lost tag update, no two rotations to the same version.
_KEY_FOR_UPDATE = _KEY.with_for_update()
_ALIAS_TARGET = select(kms_aliases.c.key_id).where(
    kms_aliases.c.account_id == bindparam("account"), kms_aliases.c.region == bindparam("region"),
    kms_aliases.c.name == bindparam("name"))
_ALIASES = select(kms_aliases.c.name).where(kms_aliases.c.key_id == bindparam("key_id"))
_GRANTS = select(kms_grants).where(kms_grants.c.key_id == bindparam("key_id"))
_MATERIAL = select(kms_key_materials.c.material).where(
    kms_key_materials.c.key_id == bindparam("key_id"), kms_key_materials.c.version == bindparam("version"))


@dataclass(frozen=True, slots=True)
class KeyRef:
    """Where a KeyId points: account, region, and either a key id or an alias name."""

    account: str
    region: str
    key_id: str | None = None
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Key:
    """One KMS key as stored (material excluded)."""

    key_id: str
    account_id: str
    region: str
    description: str
    key_spec: str
    key_usage: str
    origin: str
    manager: str
    state: str
    created_at: dt.datetime
    deletion_date: dt.datetime | None
    pending_window_days: int | None
    policy: str
    tags: dict[str, str]
    rotation_days: int | None
    next_rotation_at: dt.datetime | None
    current_version: int

    @property
    def arn(self) -> str:
        """The key's ARN."""
        return key_arn(self.region, self.account_id, self.key_id)


def key_arn(region: str, account: str, key_id: str) -> str:
    """arn:aws:kms:<region>:<account>:key/<id>."""
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, name: str) -> str:
    """arn:aws:kms:<region>:<account>:alias/<name> (``name`` includes the alias/ prefix)."""
    return f"arn:aws:kms:{region}:{account}:{name}"


def parse_ref(call: Call, value: str) -> KeyRef:
    """Split a KeyId as the API accepts it; NotFoundException for anything else."""
    account, region = call.account_id or "", call.region
    found = _ARN.match(value)
    if found:
        _, region, account, kind, rest = found.groups()
        return KeyRef(account, region, key_id=rest) if kind == "key" else KeyRef(account, region, alias=f"alias/{rest}")
    if value.startswith("alias/") and len(value) > 6:
        return KeyRef(account, region, alias=value)
    if _UUID.match(value):
        return KeyRef(account, region, key_id=value)
    raise NotFoundException(f"Invalid keyId '{value}'")


def key_from_row(row: Any) -> Key:
    """A Key from a selected kms_keys row."""
    values = dict(row._mapping)
    values["tags"] = orjson.loads(values["tags"])
    return Key(**values)


def alias_target(db: Db, ref: KeyRef) -> str | None:
    """The key id an alias points to, or None."""
    return db.execute(_ALIAS_TARGET, {"account": ref.account, "region": ref.region, "name": ref.alias}
                      ).scalar_one_or_none()


def lookup(db: Db, ref: KeyRef, now: dt.datetime) -> Key | None:
    """The live key a reference names, or None (unknown, other account or region, or past deletion).

    In a writer's transaction (a Session) the key's row is locked until the transaction ends.
    """
    key_id = ref.key_id if ref.alias is None else alias_target(db, ref)
    if key_id is None:
        return None
    row = db.execute(_KEY_FOR_UPDATE if isinstance(db, Session) else _KEY, {"key_id": key_id}).one_or_none()
    if row is None or row.account_id != ref.account or row.region != ref.region:
        return None
    key = key_from_row(row)
    return None if is_destroyed(key, now) else key


def by_id(db: Db, key_id: str, now: dt.datetime) -> Key | None:
    """A live key by id alone (ciphertext blobs name keys this way)."""
    row = db.execute(_KEY, {"key_id": key_id}).one_or_none()
    if row is None:
        return None
    key = key_from_row(row)
    return None if is_destroyed(key, now) else key


def is_destroyed(key: Key, now: dt.datetime) -> bool:
    """Whether the key's deletion window has passed (its material counts as gone)."""
    return key.state == "PendingDeletion" and key.deletion_date is not None and key.deletion_date <= now


def not_found(call: Call, ref: KeyRef) -> NotFoundException:
    """AWS's wording for a key or alias that does not exist."""
    if ref.alias is not None:
        return NotFoundException(f"Alias {alias_arn(ref.region, ref.account, ref.alias)} is not found.")
    return NotFoundException(f"Key '{key_arn(ref.region, ref.account, ref.key_id or '')}' does not exist")


# Within one request the authorize step (resource and context resolvers) and the
# handler ask about the same key; each answer is read once per request.
_MEMO: dict[tuple[str, object], Any] = {}
_MEMO_LIMIT = 2048
_MISSING = object()


def _memo(call: Call, what: object, read: Any) -> Any:
    """``read(conn)`` once per (request, what); a full memo is simply emptied (entries live one request)."""
    slot = (call.request_id, what)
    found = _MEMO.get(slot, _MISSING)
    if found is _MISSING:
        with call.gateway.db.read() as conn:
            found = read(conn)
        _remember(call, what, found)
    return found


def _remember(call: Call, what: object, value: Any) -> None:
    """Store one answer for this request (the memo is emptied whole when full)."""
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[(call.request_id, what)] = value


@dataclass(frozen=True, slots=True)
class KeyView:
    """A key with what authorization needs about it: its aliases and grants (one snapshot)."""

    key: Key
    aliases: list[str]
    grants: list[Any]


def _view(call: Call, conn: Connection, ref: KeyRef) -> KeyView | None:
    """Read a key with its aliases, grants and current (sealed) material in one snapshot."""
    key = lookup(conn, ref, call.received_at)
    if key is None:
        return None
    # The current material (still sealed) comes along: Encrypt and most Decrypts need no second read.
    _remember(call, ("material", key.key_id, key.current_version),
              conn.execute(_MATERIAL, {"key_id": key.key_id, "version": key.current_version}).scalar_one_or_none())
    return KeyView(key, aliases_of(conn, key.key_id), grants_of(conn, key.key_id))


def view_for_request(call: Call, ref: KeyRef) -> KeyView | None:
    """The key a reference names, with aliases and grants, read once per request (None when there is none)."""
    return _memo(call, ref, lambda conn: _view(call, conn, ref))


def find(call: Call, db: Db, value: str) -> Key:
    """The key a KeyId names, or NotFoundException.

    A key past its deletion date is not found from that instant on (``lookup``),
    whether or not the deletion job has deleted its rows yet; nothing can bring it
    back, since CancelKeyDeletion must find it first.
    """
    ref = parse_ref(call, value)
    # Writers read in their own transaction (check, then change); readers share the request's answer.
    if isinstance(db, Session):
        key = lookup(db, _as_authorized(call, ref), call.received_at)
    else:
        view = view_for_request(call, ref)
        key = view.key if view is not None else None
    if key is None or (key.account_id != call.account_id and not _may_cross(call)):
        raise not_found(call, ref)
    return key


def _as_authorized(call: Call, ref: KeyRef) -> KeyRef:
    """An alias as the authorize step resolved it: a writer acts on the key the engine was asked about.

    Re-resolving the alias in the writer's transaction would let an UpdateAlias landing between the
    two steps point the write at a key the caller was never authorized on (check-then-act race).
    """
    if ref.alias is None:
        return ref
    seen = _MEMO.get((call.request_id, ref))
    return KeyRef(ref.account, ref.region, key_id=seen.key.key_id) if isinstance(seen, KeyView) else ref


def authorized_alias_target(call: Call, name: str) -> str | None:
    """The key id an alias pointed to when the authorize step asked about it (None: not recorded)."""
    found = _MEMO.get((call.request_id, ("alias-target", name)))
    return found if isinstance(found, str) else None


def remember_alias_target(call: Call, name: str, key_id: str) -> None:
    """Record the key an alias points to as the authorize step sees it (see ``authorized_alias_target``)."""
    _remember(call, ("alias-target", name), key_id)


def _may_cross(call: Call) -> bool:
    """Whether this call may name another account's key (other services' data keys, e.g. SSE-KMS, may)."""
    return call.service != "kms" or call.operation in CROSS_ACCOUNT_OPERATIONS


def destroy_due(session: Session, now: dt.datetime, key_id: str | None = None) -> list[str]:
    """Delete every key (or the one given) whose deletion date passed: material, grants, aliases, row."""
    query = select(kms_keys.c.key_id).where(kms_keys.c.state == "PendingDeletion", kms_keys.c.deletion_date <= now)
    if key_id is not None:
        query = query.where(kms_keys.c.key_id == key_id)
    due = list(session.execute(query).scalars())
    for found in due:
        for table in (kms_key_materials, kms_grants, kms_aliases):
            session.execute(delete(table).where(table.c.key_id == found))
        session.execute(delete(kms_keys).where(kms_keys.c.key_id == found))
    return due


def require_usable(key: Key) -> None:
    """Cryptographic operations need an enabled key: DisabledException or KMSInvalidStateException otherwise."""
    if key.state == "Disabled":
        raise DisabledException(f"{key.arn} is disabled.")
    if key.state != "Enabled":
        raise KMSInvalidStateException(f"{key.arn} is pending deletion.")


def refuse_dry_run(params: dict[str, Any]) -> None:
    """DryRun: authorization and validation passed, so say so and do nothing (before any write or crypto)."""
    if params.get("DryRun"):
        raise DryRunOperationException("The request would have succeeded, but the DryRun option is set.")


def refuse_recipient(params: dict[str, Any]) -> None:
    """Nitro Enclaves attestation (Recipient) is not supported: refusing it keeps the plaintext from being
    returned in the clear to a caller who asked for it sealed to an enclave."""
    if params.get("Recipient"):
        raise UnsupportedOperationException("Recipient (Nitro Enclaves attestation) is not supported by Rampart.")


def material_aad(key_id: str, version: int) -> bytes:
    """The master-key AAD of one key material: a row copied to another key or version does not open."""
    return f"rampart-kms-material:{key_id}:{version}".encode()


def material(call: Call, db: Db, key: Key, version: int | None = None) -> bytes:
    """The plaintext key material of a version (the current one by default)."""
    wanted = key.current_version if version is None else version
    sealed = _MEMO.get((call.request_id, ("material", key.key_id, wanted)))
    if sealed is None:
        sealed = db.execute(_MATERIAL, {"key_id": key.key_id, "version": wanted}).scalar_one_or_none()
    if sealed is None:
        raise NotFoundException(f"Key '{key.arn}' does not exist")
    return call.gateway.accounts.master_key.decrypt(sealed, material_aad(key.key_id, wanted))


def aliases_of(db: Db, key_id: str) -> list[str]:
    """The alias names pointing at a key (kms:ResourceAliases)."""
    return list(db.execute(_ALIASES, {"key_id": key_id}).scalars())


def token_hash(token: str) -> str:
    """What is stored of a grant token (a bearer name for the grant, so only its hash is kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


def grants_of(db: Db, key_id: str) -> list[Any]:
    """The grant rows of a key (folded into its policy by ``policy.compiled``)."""
    return list(db.execute(_GRANTS, {"key_id": key_id}))
