"""A bucket's access-control facts, cached per process, and a per-call memo of the object row.

Every S3 call is authorized against its bucket's owner, policy, ACL, Block
Public Access (bucket and account) and Object Ownership, and PutObject
needs the default encryption: read from the database that is seven
statements per call. ``bucket_facts`` answers them from one cached
snapshot per bucket, kept at most ``CACHE_TTL_SECONDS`` and dropped

- at once in this process after any transaction that changed a bucket row,
  a bucket document or an account document commits (``store`` calls
  ``changed``), and
- within ``GenerationWatch``'s interval in other server processes, because
  the same transaction bumps the bucket owner's account generation.

Readers remember the local generation before reading and keep their
snapshot only when no change committed meanwhile, so a snapshot read
before a commit is never cached after it. Missing buckets are not cached.

``call_object`` reads an object's row once per call: the resource resolver
(its ACL), the condition keys (its tags) and GetObject share it.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.services.s3.store import Bucket, get_bucket
from rampart.services.s3.tables import s3_account_configs, s3_bucket_configs
from rampart.storage.db import Database
from rampart.storage.generations import GenerationWatch

CACHE_TTL_SECONDS = 2.0
CACHE_MAX_ENTRIES = 10_000
_HOOKED = "rampart.s3.facts_hooked"

_BUCKET_DOCS = select(s3_bucket_configs.c.kind, s3_bucket_configs.c.document).where(
    s3_bucket_configs.c.bucket == bindparam("bucket")
)
_ACCOUNT_DOCS = select(s3_account_configs.c.kind, s3_account_configs.c.document).where(
    s3_account_configs.c.account_id == bindparam("account_id")
)


@dataclass(slots=True)
class BucketFacts:
    """One consistent snapshot of a bucket row and its stored documents (and its owner account's).

    ``derived`` holds values computed from the snapshot (compiled policies,
    Block Public Access flags) so that they too are computed once per snapshot.
    """

    bucket: Bucket
    documents: Mapping[str, Any]
    account_documents: Mapping[str, Any]
    derived: dict[Any, Any] = field(default_factory=dict)

    def document(self, kind: str) -> Any | None:
        """A bucket document (decoded JSON), or None when not set."""
        return self.documents.get(kind)

    def account_document(self, kind: str) -> Any | None:
        """The owner account's S3 document of ``kind``, or None."""
        return self.account_documents.get(kind)


_generation = 0
_generation_lock = threading.Lock()


def _bump_local() -> None:
    global _generation
    with _generation_lock:
        _generation += 1
    for cache in list(_caches.values()):
        cache.clear()


def changed(session: Session, account_id: str | None) -> None:
    """A bucket or its documents (or an account's S3 documents) change in this transaction.

    Other processes learn of it through the account's generation; this one
    drops its snapshots once the transaction has committed (and again now,
    which costs nothing and covers a failed commit's readers).
    """
    if account_id is not None:
        from rampart.storage.generations import bump_generation

        bump_generation(session, account_id)
    if not session.info.get(_HOOKED):
        session.info[_HOOKED] = True
        event.listen(session, "after_commit", lambda _session: _bump_local(), once=True)
    _bump_local()


class _FactsCache:
    """Snapshots by bucket name for one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.watch = GenerationWatch(db)
        self._entries: dict[str, tuple[float, int, BucketFacts]] = {}

    def clear(self) -> None:
        self._entries.clear()

    def get(self, name: str) -> BucketFacts | None:
        found = self._entries.get(name)
        if found is not None:
            expires, generation, facts = found
            if expires > time.monotonic() and generation == _generation:
                if not self.watch.changed(facts.bucket.account_id):
                    return facts
                self._entries.clear()  # another process changed this account's buckets
        return self._load(name)

    def _load(self, name: str) -> BucketFacts | None:
        generation = _generation
        with self.db.read() as conn:
            bucket = get_bucket(conn, name)
            if bucket is None:
                return None
            self.watch.prime(bucket.account_id)
            documents = {row.kind: orjson.loads(row.document) for row in conn.execute(_BUCKET_DOCS, {"bucket": name})}
            account = {row.kind: orjson.loads(row.document)
                       for row in conn.execute(_ACCOUNT_DOCS, {"account_id": bucket.account_id})}
        facts = BucketFacts(bucket, documents, account)
        if generation == _generation:
            if len(self._entries) >= CACHE_MAX_ENTRIES:
                self._entries.clear()
            self._entries[name] = (time.monotonic() + CACHE_TTL_SECONDS, generation, facts)
        return facts


_caches: weakref.WeakKeyDictionary[Database, _FactsCache] = weakref.WeakKeyDictionary()


def bucket_facts(call: Call, name: str) -> BucketFacts | None:
    """The bucket's snapshot (cached), or None when there is no such bucket."""
    db = call.gateway.db
    cache = _caches.get(db)
    if cache is None:
        cache = _caches.setdefault(db, _FactsCache(db))
    return cache.get(name)


# --- the object row, once per call -------------------------------------------------

_memo = threading.local()
_MISSING = object()


def call_object(call: Call, bucket: str, key: str, version_id: str | None) -> Any:
    """The key's latest (or given) version row as ``objects_store`` reads it, delete markers included;
    read once per call (the call runs on one thread from authorization to its handler)."""
    if getattr(_memo, "call", None) is not call:
        _memo.call, _memo.rows = call, {}
    rows: dict[tuple[str, str, str | None], Any] = _memo.rows
    found = rows.get((bucket, key, version_id), _MISSING)
    if found is _MISSING:
        from rampart.services.s3 import objects_store

        with call.gateway.db.read_one() as conn:  # one statement: no BEGIN/COMMIT round trips
            if version_id:
                found = objects_store.get_version(conn, bucket, key, version_id)
            else:
                found = objects_store.get_latest(conn, bucket, key)
        rows[(bucket, key, version_id)] = found
    return found

