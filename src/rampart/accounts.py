"""Accounts and their long-term credentials (root and IAM user access keys).

The store bootstraps the default account on first start, creates further
accounts, and answers the SigV4 layer's question on every request: "which
secret and which principal go with this access key id?". Secrets are kept
encrypted (``rampart.secrets``); decrypted records live only in a short-lived
in-memory cache.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import string
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, bindparam, delete, event, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from rampart.auth.sigv4 import SigningKeyRecord
from rampart.aws.errors import AwsError, ValidationError
from rampart.clock import clock
from rampart.secrets import MasterKey
from rampart.storage.cache import TtlCache
from rampart.storage.db import Database
from rampart.storage.generations import (
    GenerationWatch,
    bump_generation,
    create_generation,
)
from rampart.storage.schema import access_keys, accounts

if TYPE_CHECKING:
    from rampart.config import Settings

PrincipalKind = Literal["root", "user"]
KeyStatus = Literal["Active", "Inactive"]
ROOT_CREDENTIALS_FILE = "root-credentials.json"
DEFAULT_ACCOUNT_NAME = "default"
ACCESS_KEY_PREFIX = "AKIA"
_BASE32 = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
_ACCESS_KEY_ID = re.compile(r"[\w]{16,128}", re.ASCII)
_ACCOUNT_NAME = re.compile(r"[\u0020-\u007E]{1,50}")
_ACCOUNT_ID_MASK = 0x7FFFFFFFFF80
log = logging.getLogger("rampart.accounts")
KEY_USE_FLUSH_SECONDS = 1.0

# Built once: constructing the statement costs more than running it.
_LOOKUP_ACTIVE_KEY = select(
    access_keys.c.account_id,
    access_keys.c.principal_kind,
    access_keys.c.user_name,
    access_keys.c.secret_ciphertext,
).where(access_keys.c.access_key_id == bindparam("key_id"), access_keys.c.status == "Active")


class AccountError(AwsError):
    """An account operation that cannot proceed (bad bootstrap settings, unknown account)."""

    code = "InvalidInput"
    status = 400


class DuplicateAccountName(AwsError):
    """Account names are unique on this server."""

    code = "DuplicateAccountException"
    status = 409


@dataclass(frozen=True, slots=True)
class PrincipalRef:
    """Who a long-term key belongs to, as the authorizer and handlers need it."""

    account_id: str
    kind: PrincipalKind
    name: str | None
    arn: str
    user_id: str


@dataclass(frozen=True, slots=True)
class AccessKeyPair:
    """A newly made key pair: the only moment its secret is handed out."""

    account_id: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


RootKeys = AccessKeyPair
"""Root keys are an ordinary key pair that belongs to the account's root user."""


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """One account as ``rampart account list`` shows it."""

    account_id: str
    name: str
    created_at: dt.datetime


UserResolver = Callable[[Connection, str, str], PrincipalRef | None]
"""(connection, account_id, user_name) -> the IAM user's principal, or None if gone."""

SessionResolver = Callable[[Connection, MasterKey, str], SigningKeyRecord | None]
"""(connection, master key, temporary key id) -> the session's signing record, or None (STS's)."""
TEMPORARY_KEY_PREFIX = "ASIA"


def root_principal(account_id: str) -> PrincipalRef:
    """The root user of an account: its user id is the account id."""
    return PrincipalRef(account_id, "root", None, f"arn:aws:iam::{account_id}:root", account_id)


def default_user_principal(_conn: Connection, account_id: str, user_name: str) -> PrincipalRef:
    """An IAM user's principal until the IAM users table provides a resolver.

    The id is deterministic (``AIDA`` + 17 base32 characters, like AWS's), the
    path is ``/``.
    """
    digest = base64.b32encode(hashlib.sha256(f"{account_id}/{user_name}".encode()).digest())
    user_id = "AIDA" + digest.decode()[:17]
    arn = f"arn:aws:iam::{account_id}:user/{user_name}"
    return PrincipalRef(account_id, "user", user_name, arn, user_id)


def generate_access_key_id(account_id: str, prefix: str = ACCESS_KEY_PREFIX) -> str:
    """A 20-character key id that, like AWS's, encodes its account id.

    AWS packs the account id into bits 7..46 of the first six base32-decoded
    bytes; ``account_id_from_access_key_id`` (sts:GetAccessKeyInfo) reads it back.
    """
    head = (int(account_id) << 7) & _ACCOUNT_ID_MASK | secrets.randbits(7)
    raw = head.to_bytes(6, "big") + secrets.token_bytes(4)
    return prefix + base64.b32encode(raw).decode("ascii")


def account_id_from_access_key_id(access_key_id: str) -> str | None:
    """The account id encoded in an AWS-format key id, or None if it has none."""
    try:
        raw = base64.b32decode(access_key_id[4:20])
    except ValueError:
        return None
    return f"{(int.from_bytes(raw[:6], 'big') & _ACCOUNT_ID_MASK) >> 7:012d}"


def generate_secret_access_key() -> str:
    """A 40-character secret from the base64 alphabet, as AWS issues them."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def generate_account_id() -> str:
    """A random 12-digit account id (may start with 0, as AWS's can)."""
    return f"{secrets.randbelow(10**12):012d}"


def _secret_aad(access_key_id: str) -> bytes:
    """Binds a ciphertext to its row: a secret copied to another key fails to decrypt."""
    return b"rampart/access_keys/" + access_key_id.encode()


def write_root_credentials(data_dir: Path, keys: AccessKeyPair) -> Path:
    """Write the root keys (mode 0600) where the operator can find them again."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ROOT_CREDENTIALS_FILE
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    body = {
        "AccountId": keys.account_id,
        "AccessKeyId": keys.access_key_id,
        "SecretAccessKey": keys.secret_access_key,
    }
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)
        json.dump(body, out, indent=2)
        out.write("\n")
    os.replace(temp, path)
    return path


class AccountStore:
    """Accounts and access keys, with a cached hot-path lookup for SigV4.

    ``cache_ttl`` bounds how long a change made by *another* process (a key
    deactivated through a different worker) may go unnoticed; changes made
    through this store take effect at once. ``resolve_user`` lets the IAM
    service supply users' real ARNs and ids; ``resolve_session`` lets STS
    answer for temporary (ASIA) keys.
    """

    def __init__(
        self,
        db: Database,
        master_key: MasterKey,
        *,
        cache_ttl: float = 2.0,
        resolve_user: UserResolver = default_user_principal,
    ) -> None:
        self.db = db
        self.master_key = master_key
        self.resolve_user = resolve_user
        self.resolve_session: SessionResolver | None = None
        self._cache: TtlCache[str, SigningKeyRecord] = TtlCache(cache_ttl)
        self.watch = GenerationWatch(db)
        self._account_listeners: list[Callable[[str], None]] = []
        self._key_uses: dict[str, tuple[dt.datetime, str, str]] = {}
        self._key_uses_flushed = 0.0
        self._key_uses_lock = threading.Lock()  # guards the two above (requests add, the writer takes)
        self._key_use_writing = threading.Lock()  # one write at a time; a reader's flush waits for it
        self._key_use_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rampart-key-use")

    # --- the hot path -------------------------------------------------------

    def lookup_signing_key(self, access_key_id: str) -> SigningKeyRecord | None:
        """The active key's secret and principal, or None (unknown or inactive)."""
        cached = self._cache.get(access_key_id)
        if cached is not None:
            if not self.watch.changed(cached.account_id):
                return cached
            self.account_changed(cached.account_id)  # another process changed it: reload
        if not _ACCESS_KEY_ID.fullmatch(access_key_id):
            return None
        generation = self._cache.generation
        record = self._load_record(access_key_id)
        if record is not None:
            self.watch.prime(record.account_id)
            self._cache.put(access_key_id, record, generation)
        return record

    def on_account_change(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(account_id)`` when another process changed an account's keys or IAM state."""
        self._account_listeners.append(listener)

    def account_changed(self, account_id: str) -> None:
        """Forget every cached key, and tell the listeners (IAM's compiled policies)."""
        self._cache.clear()
        for listener in self._account_listeners:
            listener(account_id)

    def _load_record(self, access_key_id: str) -> SigningKeyRecord | None:
        """One primary-key read, then decryption and principal resolution.

        Temporary (ASIA) key ids belong to STS sessions: the resolver STS
        installs opens the session's sealed token (no resolver: unknown key).
        """
        if access_key_id.startswith(TEMPORARY_KEY_PREFIX):
            if self.resolve_session is None:
                return None
            with self.db.read_one() as conn:
                return self.resolve_session(conn, self.master_key, access_key_id)
        with self.db.read_one() as conn:
            row = conn.execute(_LOOKUP_ACTIVE_KEY, {"key_id": access_key_id}).first()
            if row is None:
                return None
            principal = self._principal(conn, row)
        if principal is None:
            return None
        secret = self.master_key.decrypt(row.secret_ciphertext, _secret_aad(access_key_id))
        return SigningKeyRecord(access_key_id, secret.decode(), row.account_id, principal)

    def _principal(self, conn: Connection, row: Row) -> PrincipalRef | None:
        if row.principal_kind == "root":
            return root_principal(row.account_id)
        if row.principal_kind == "user" and row.user_name:
            return self.resolve_user(conn, row.account_id, row.user_name)
        return None

    def invalidate(self, access_key_id: str | None = None) -> None:
        """Drop one cached key (or all): the next request re-reads the database."""
        if access_key_id is None:
            self._cache.clear()
        else:
            self._cache.discard(access_key_id)

    # --- accounts -----------------------------------------------------------

    def bootstrap_default(self, settings: Settings) -> RootKeys | None:
        """Make sure the default account exists; its root keys if made just now.

        Safe to call from every worker at start (serialized by a database lock).
        Root keys from the settings are added to an existing account if missing.
        Keys created here are also written to ``<data_dir>/root-credentials.json``.
        """
        _validate_account_id(settings.account_id)
        env_keys = _root_keys_from_settings(settings)
        with self.db.session() as session:
            self.db.lock(session, "rampart.bootstrap")
            if self._account_exists(session, settings.account_id):
                if env_keys is not None:
                    self._ensure_root_key(session, env_keys)
                self._check_master_key(session, settings.account_id)
                return None
            keys = env_keys or _generated_keys(settings.account_id)
            name = self._default_name(session, settings)
            self._insert_account(session, settings.account_id, name)
            self._ensure_root_key(session, keys)
            write_root_credentials(Path(settings.data_dir), keys)
        return keys

    def create_account(
        self, name: str, *, account_id: str | None = None, session: Session | None = None
    ) -> tuple[str, RootKeys]:
        """A new account with fresh root keys (returned once, never shown again).

        ``session``: the caller's transaction (Organizations' CreateAccount makes
        the account, its role and its membership in one).
        """
        _validate_account_name(name)
        with self._in_session(session) as active:
            taken = select(accounts.c.account_id).where(accounts.c.name == name)
            if active.execute(taken).first():
                raise DuplicateAccountName(f"An account named {name!r} already exists.")
            account_id = account_id or self._unused_account_id(active)
            keys = _generated_keys(account_id)
            self._insert_account(active, account_id, name)
            self._insert_key(active, keys, "root", None)
        return account_id, keys

    def list_accounts(self) -> list[AccountInfo]:
        """All accounts, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(accounts).order_by(accounts.c.created_at, accounts.c.account_id)
            ).all()
        return [AccountInfo(r.account_id, r.name, r.created_at) for r in rows]

    def get_account(self, account_id: str) -> AccountInfo | None:
        """One account, or None."""
        with self.db.read() as conn:
            row = conn.execute(select(accounts).where(accounts.c.account_id == account_id)).first()
        return AccountInfo(row.account_id, row.name, row.created_at) if row else None

    # --- access keys (building blocks for IAM) -------------------------------

    def add_access_key(
        self,
        account_id: str,
        kind: PrincipalKind,
        user_name: str | None = None,
        *,
        session: Session | None = None,
    ) -> AccessKeyPair:
        """A new active key pair for the root user or an IAM user of ``account_id``."""
        if kind not in ("root", "user") or (kind == "user") != bool(user_name):
            raise ValidationError("user_name is required for user keys and only for them")
        keys = _generated_keys(account_id)
        with self._in_session(session) as active:
            self._insert_key(active, keys, kind, user_name)
            bump_generation(active, account_id)
        return keys

    def set_access_key_status(
        self, access_key_id: str, status: KeyStatus, *, session: Session | None = None
    ) -> bool:
        """Activate or deactivate a key (effective at once here); False if unknown."""
        if status not in ("Active", "Inactive"):
            raise ValidationError(f"Invalid status {status!r}: must be Active or Inactive")
        with self._in_session(session) as active:
            self._bump_for_key(active, access_key_id)
            changed = active.execute(
                update(access_keys)
                .where(access_keys.c.access_key_id == access_key_id)
                .values(status=status)
            ).rowcount
            self._invalidate_on_commit(active, access_key_id)
        return bool(changed)

    def delete_access_key(self, access_key_id: str, *, session: Session | None = None) -> bool:
        """Remove a key for good (stops authenticating at once here); False if unknown."""
        with self._in_session(session) as active:
            self._bump_for_key(active, access_key_id)
            gone = active.execute(
                delete(access_keys).where(access_keys.c.access_key_id == access_key_id)
            ).rowcount
            self._invalidate_on_commit(active, access_key_id)
        return bool(gone)

    def note_key_use(self, access_key_id: str, service: str, region: str, when: dt.datetime) -> None:
        """Remember a key's use (iam:GetAccessKeyLastUsed); written at most once a second.

        Uses gather in memory and are written in one transaction, at most once
        a second, by a thread of their own (or by ``flush_key_use``): the hot
        path never writes to the database, nor waits for its write lock.
        """
        with self._key_uses_lock:
            self._key_uses[access_key_id] = (when, service, region)
            due = when.timestamp() - self._key_uses_flushed >= KEY_USE_FLUSH_SECONDS
            if due:
                self._key_uses_flushed = when.timestamp()
        if due:
            self._key_use_writer.submit(self._write_key_uses_quietly)

    def flush_key_use(self) -> None:
        """Write the gathered key uses now (readers of last-used data call this first)."""
        with self._key_use_writing:
            with self._key_uses_lock:
                pending, self._key_uses = self._key_uses, {}
                self._key_uses_flushed = clock.now().timestamp()
            if not pending:
                return
            with self.db.session() as session:
                session.execute(
                    update(access_keys).where(access_keys.c.access_key_id == bindparam("key_id")),
                    [
                        {"key_id": key, "last_used_at": at, "last_used_service": service,
                         "last_used_region": region}
                        for key, (at, service, region) in pending.items()
                    ],
                )

    def _write_key_uses_quietly(self) -> None:
        try:
            self.flush_key_use()
        except Exception:  # deliberate: the writer thread must outlive a failed write (last-used is advisory)
            log.exception("writing access keys' last use failed")

    # --- internals ----------------------------------------------------------

    @contextmanager
    def _in_session(self, session: Session | None) -> Iterator[Session]:
        """The caller's transaction if given, else a new one of our own."""
        if session is not None:
            yield session
            return
        with self.db.session() as own:
            yield own

    def _invalidate_on_commit(self, session: Session, access_key_id: str) -> None:
        """Forget the key now and again after commit, so no stale read survives."""
        self.invalidate(access_key_id)
        event.listen(session, "after_commit", lambda _s: self.invalidate(access_key_id), once=True)

    @staticmethod
    def _account_exists(session: Session, account_id: str) -> bool:
        query = select(accounts.c.account_id).where(accounts.c.account_id == account_id)
        return session.execute(query).first() is not None

    @staticmethod
    def _insert_account(session: Session, account_id: str, name: str) -> None:
        session.execute(
            insert(accounts).values(account_id=account_id, name=name, created_at=clock.now())
        )
        create_generation(session, account_id)

    @staticmethod
    def _bump_for_key(session: Session, access_key_id: str) -> None:
        """A key's status or existence changes: other processes must stop trusting their cached copy."""
        owner = session.execute(
            select(access_keys.c.account_id).where(access_keys.c.access_key_id == access_key_id)
        ).scalar()
        if owner is not None:
            bump_generation(session, owner)

    def _insert_key(
        self, session: Session, keys: AccessKeyPair, kind: PrincipalKind, user_name: str | None
    ) -> None:
        ciphertext = self.master_key.encrypt(
            keys.secret_access_key.encode(), _secret_aad(keys.access_key_id)
        )
        session.execute(
            insert(access_keys).values(
                access_key_id=keys.access_key_id,
                account_id=keys.account_id,
                principal_kind=kind,
                user_name=user_name,
                secret_ciphertext=ciphertext,
                status="Active",
                created_at=clock.now(),
            )
        )
        self.invalidate(keys.access_key_id)

    def _ensure_root_key(self, session: Session, keys: AccessKeyPair) -> None:
        """Root keys given in the settings work after a restart, even if new."""
        row = session.execute(
            select(access_keys).where(access_keys.c.access_key_id == keys.access_key_id)
        ).first()
        if row is None:
            self._insert_key(session, keys, "root", None)
            return
        if row.account_id != keys.account_id or row.principal_kind != "root":
            raise AccountError(
                f"RAMPART_ROOT_ACCESS_KEY_ID {keys.access_key_id} already belongs to "
                f"another principal (account {row.account_id}, {row.principal_kind})"
            )
        aad = _secret_aad(keys.access_key_id)
        if row.status != "Active" or self.master_key.decrypt(row.secret_ciphertext, aad) != (
            keys.secret_access_key.encode()
        ):
            secret = self.master_key.encrypt(keys.secret_access_key.encode(), aad)
            session.execute(
                update(access_keys)
                .where(access_keys.c.access_key_id == keys.access_key_id)
                .values(secret_ciphertext=secret, status="Active")
            )
            self._invalidate_on_commit(session, keys.access_key_id)

    def _check_master_key(self, session: Session, account_id: str) -> None:
        """Fail at start, not on the first request, when the master key is wrong."""
        row = session.execute(
            select(access_keys.c.access_key_id, access_keys.c.secret_ciphertext)
            .where(access_keys.c.account_id == account_id)
            .limit(1)
        ).first()
        if row is not None:
            self.master_key.decrypt(row.secret_ciphertext, _secret_aad(row.access_key_id))

    @staticmethod
    def _default_name(session: Session, settings: Settings) -> str:
        taken = session.execute(
            select(accounts.c.name).where(accounts.c.name == DEFAULT_ACCOUNT_NAME)
        ).first()
        return settings.account_id if taken else DEFAULT_ACCOUNT_NAME

    def _unused_account_id(self, session: Session) -> str:
        while True:
            candidate = generate_account_id()
            if not self._account_exists(session, candidate):
                return candidate


def _generated_keys(account_id: str) -> AccessKeyPair:
    key_id = generate_access_key_id(account_id)
    return AccessKeyPair(account_id, key_id, generate_secret_access_key())


def _root_keys_from_settings(settings: Settings) -> AccessKeyPair | None:
    """Root keys the operator chose (RAMPART_ROOT_ACCESS_KEY_ID / _SECRET_ACCESS_KEY)."""
    key_id, secret = settings.root_access_key_id, settings.root_secret_access_key
    if not key_id and not secret:
        return None
    if not key_id or not secret:
        raise AccountError(
            "set both RAMPART_ROOT_ACCESS_KEY_ID and RAMPART_ROOT_SECRET_ACCESS_KEY, or neither"
        )
    if not _ACCESS_KEY_ID.fullmatch(key_id):
        raise AccountError("RAMPART_ROOT_ACCESS_KEY_ID must be 16-128 letters, digits or _")
    return AccessKeyPair(settings.account_id, key_id, secret)


def _validate_account_id(account_id: str) -> None:
    if not re.fullmatch(r"\d{12}", account_id):
        raise AccountError(f"account id {account_id!r} must be 12 digits")


def _validate_account_name(name: str) -> None:
    """Organizations' AccountName constraints: 1-50 printable ASCII characters."""
    if not _ACCOUNT_NAME.fullmatch(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at 'accountName' failed to satisfy "
            "constraint: Member must have length between 1 and 50 and match [\\u0020-\\u007E]+"
        )
