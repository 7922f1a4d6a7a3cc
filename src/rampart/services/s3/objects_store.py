"""Object version rows: reading, writing with S3's versioning rules, ACL and tag documents.

A key's versions are rows of ``s3_objects``; exactly one of them is the
latest (``is_latest``), possibly a delete marker. In a bucket whose
versioning was never enabled, or is suspended, a write replaces the key's
``null`` version; with versioning enabled every write adds a version. Each
writer returns the blob ids its change orphaned: the caller deletes those
files only after the transaction commits, so a failed commit loses nothing.
A small object's sealed bytes live on its row (``inline_data``): they come
and go with the row, in the same transaction, and are never orphans.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from rampart.services.s3.blobs import BlobRef
from rampart.services.s3.encryption import Envelope
from rampart.services.s3.errors import NoSuchBucket
from rampart.services.s3.store import Bucket
from rampart.services.s3.tables import s3_buckets, s3_objects

Conn = Connection | Session
NULL_VERSION = "null"
STANDARD = "STANDARD"

__all__ = [
    "NULL_VERSION",
    "NewVersion",
    "ObjectVersion",
    "add_delete_marker",
    "delete_version",
    "get_latest",
    "get_object_acl",
    "get_version",
    "has_objects",
    "set_object_acl",
    "set_tags",
    "write_version",
]


def _json(value: Any) -> str | None:
    return orjson.dumps(value).decode() if value is not None else None


def _load(text: str | None) -> Any:
    return orjson.loads(text) if text else None


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One stored version (or delete marker) of a key."""

    bucket: str
    key: str
    version_id: str
    is_latest: bool
    delete_marker: bool
    size: int
    etag: str
    last_modified: dt.datetime
    storage_class: str
    owner_id: str
    headers: dict[str, Any]
    metadata: dict[str, str]
    checksum: dict[str, str] | None
    envelope: Envelope | None
    blobs: tuple[BlobRef, ...]
    parts_count: int | None
    acl: Any
    tags: dict[str, str]

    @property
    def blob_ids(self) -> list[str]:
        """The files holding this version's bytes (none for an inline object: its row holds them)."""
        return [ref.blob_id for ref in self.blobs if ref.sealed is None]


def _refs(row: Any) -> tuple[BlobRef, ...]:
    """The row's blob references; a single-blob row with ``inline_data`` carries it (rows read without the
    column, as listings read them, have no bytes to carry)."""
    listed = _load(row.blobs) or []
    sealed = row._mapping.get("inline_data")
    if sealed is not None and len(listed) == 1:
        return (BlobRef(listed[0][0], listed[0][1], bytes(sealed)),)
    return tuple(BlobRef(b, s) for b, s in listed)


def _version_of(row: Any) -> ObjectVersion:
    envelope = _load(row.envelope)
    return ObjectVersion(
        row.bucket,
        row.key,
        row.version_id,
        bool(row.is_latest),
        bool(row.delete_marker),
        row.size,
        row.etag,
        row.last_modified,
        row.storage_class,
        row.owner_id,
        _load(row.headers) or {},
        _load(row.metadata) or {},
        _load(row.checksum),
        Envelope.from_json(envelope) if envelope else None,
        _refs(row),
        row.parts_count,
        _load(row.acl),
        _load(row.tags) or {},
    )


# The hot statements, built once: values come as parameters, not a new construct per call
# (named p_*: an UPDATE reserves its columns' names).
_t = s3_objects
_LATEST = select(_t).where(_t.c.bucket == bindparam("p_bucket"), _t.c.key == bindparam("p_key"), _t.c.is_latest.is_(True))
_VERSION = select(_t).where(_t.c.bucket == bindparam("p_bucket"), _t.c.key == bindparam("p_key"),
                            _t.c.version_id == bindparam("p_version_id"))
_LOCK_BUCKET = select(s3_buckets).where(s3_buckets.c.name == bindparam("p_bucket")).with_for_update()
_NULL_WHERE = and_(_t.c.bucket == bindparam("p_bucket"), _t.c.key == bindparam("p_key"), _t.c.version_id == NULL_VERSION)
# One statement: replaced and removed (and its inline bytes, if any: then no file is orphaned). The column itself,
# not "inline_data IS NOT NULL": SQLite 3.40's DELETE ... RETURNING answered 1 for that expression on NULL.
_DELETE_NULL = delete(_t).where(_NULL_WHERE).returning(_t.c.blobs, _t.c.inline_data)
_NOT_LATEST = (
    update(_t)
    .where(_t.c.bucket == bindparam("p_bucket"), _t.c.key == bindparam("p_key"), _t.c.is_latest.is_(True))
    .values(is_latest=False)
)


def get_latest(conn: Conn, bucket: str, key: str) -> ObjectVersion | None:
    """The key's latest version (maybe a delete marker), or None."""
    row = conn.execute(_LATEST, {"p_bucket": bucket, "p_key": key}).one_or_none()
    return _version_of(row) if row else None


# GetObject's one query: the bucket and the key's latest version (outer-joined: either may be missing).
_BUCKET_AND_LATEST = (
    select(
        s3_buckets.c.name.label("b_name"), s3_buckets.c.account_id.label("b_account_id"),
        s3_buckets.c.region.label("b_region"), s3_buckets.c.created_at.label("b_created_at"),
        s3_buckets.c.versioning.label("b_versioning"), *s3_objects.c,
    )
    .select_from(
        s3_buckets.outerjoin(
            s3_objects,
            and_(s3_objects.c.bucket == s3_buckets.c.name, s3_objects.c.key == bindparam("key"),
                 s3_objects.c.is_latest.is_(True)),
        )
    )
    .where(s3_buckets.c.name == bindparam("bucket"))
)


def get_bucket_and_latest(conn: Conn, bucket: str, key: str) -> tuple[Bucket | None, ObjectVersion | None]:
    """The bucket and the key's latest version in one round trip (the hot path of every read)."""
    row = conn.execute(_BUCKET_AND_LATEST, {"bucket": bucket, "key": key}).one_or_none()
    if row is None:
        return None, None
    found = Bucket(row.b_name, row.b_account_id, row.b_region, row.b_created_at, row.b_versioning)
    return found, (_version_of(row) if row.id is not None else None)


def get_version(conn: Conn, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
    """One version by id, or None."""
    row = conn.execute(_VERSION, {"p_bucket": bucket, "p_key": key, "p_version_id": version_id}).one_or_none()
    return _version_of(row) if row else None


@dataclass(slots=True)
class NewVersion:
    """What a write stores: the object's bytes (blobs) and its descriptive fields."""

    key: str
    size: int
    etag: str
    owner_id: str
    last_modified: dt.datetime
    envelope: Envelope | None
    blobs: list[BlobRef] = field(default_factory=list)
    headers: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    checksum: dict[str, str] | None = None
    storage_class: str = STANDARD
    parts_count: int | None = None
    acl: Any = None
    tags: dict[str, str] | None = None
    delete_marker: bool = False


def new_version_id() -> str:
    """A fresh version id: 32 URL-safe characters, as S3's look."""
    return secrets.token_urlsafe(24)


def lock_bucket(session: Session, name: str) -> Bucket | None:
    """The bucket row, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite's writers are
    serialized already): concurrent writes to a bucket's keys, and its deletion, take turns, so a
    key never ends up with two latest versions and no object lands in a bucket being deleted."""
    row = session.execute(_LOCK_BUCKET, {"p_bucket": name}).one_or_none()
    return Bucket(row.name, row.account_id, row.region, row.created_at, row.versioning) if row else None


def write_version(session: Session, bucket: Bucket, new: NewVersion) -> tuple[str, list[str]]:
    """Store ``new`` as the key's latest version under the bucket's versioning rules.

    Returns (the version id, blob ids no longer referenced). Raises NoSuchBucket
    when the bucket was deleted meanwhile; the versioning status is the one
    current at commit, not the one the caller read before writing its blob.
    """
    locked = lock_bucket(session, bucket.name)
    if locked is None:
        raise NoSuchBucket(bucket.name)
    bucket = locked
    orphans: list[str] = []
    names = {"p_bucket": bucket.name, "p_key": new.key}
    if bucket.versioning == "Enabled":
        version_id = new_version_id()
    else:
        version_id = NULL_VERSION
        old_blobs = session.execute(_DELETE_NULL, names).one_or_none()
        if old_blobs is not None and old_blobs.inline_data is None:
            orphans = [blob_id for blob_id, _ in (_load(old_blobs.blobs) or [])]
    if bucket.versioning is not None:  # never versioned: the null version was the only one
        session.execute(_NOT_LATEST, names)
    session.execute(_INSERT_VERSION, _row_values(bucket.name, version_id, new))
    return version_id, orphans


_INSERT_VERSION = insert(s3_objects)  # built once: values come as parameters, not a new construct per write


def _row_values(bucket: str, version_id: str, new: NewVersion) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "key": new.key,
        "version_id": version_id,
        "is_latest": True,
        "delete_marker": new.delete_marker,
        "size": new.size,
        "etag": new.etag,
        "last_modified": new.last_modified,
        "storage_class": new.storage_class,
        "owner_id": new.owner_id,
        "headers": _json(new.headers or None),
        "metadata": _json(new.metadata or None),
        "checksum": _json(new.checksum),
        "envelope": _json(new.envelope.to_json()) if new.envelope else None,
        "blobs": _json([[r.blob_id, r.size] for r in new.blobs]) if new.blobs else None,
        "inline_data": new.blobs[0].sealed if len(new.blobs) == 1 else None,
        "parts_count": new.parts_count,
        "acl": _json(new.acl),
        "tags": _json(new.tags or None),
    }


def add_delete_marker(session: Session, bucket: Bucket, key: str, owner_id: str, now: dt.datetime) -> tuple[str, list[str]]:
    """A delete without a version id on a versioning-configured bucket: a new delete marker."""
    marker = NewVersion(key, 0, "", owner_id, now, None, delete_marker=True)
    return write_version(session, bucket, marker)


def delete_version(session: Session, bucket: str, key: str, version_id: str) -> ObjectVersion | None:
    """Remove one version for good; the previous one becomes latest. Returns the removed version."""
    t = s3_objects
    lock_bucket(session, bucket)
    gone = get_version(session, bucket, key, version_id)
    if gone is None:
        return None
    session.execute(delete(t).where(t.c.bucket == bucket, t.c.key == key, t.c.version_id == version_id))
    if gone.is_latest:
        newest = session.execute(
            select(t.c.id).where(t.c.bucket == bucket, t.c.key == key).order_by(t.c.id.desc()).limit(1)
        ).scalar_one_or_none()
        if newest is not None:
            session.execute(update(t).where(t.c.id == newest).values(is_latest=True))
    return gone


def _version_filter(bucket: str, key: str, version_id: str | None) -> Any:
    t = s3_objects
    if version_id:
        return and_(t.c.bucket == bucket, t.c.key == key, t.c.version_id == version_id)
    return and_(t.c.bucket == bucket, t.c.key == key, t.c.is_latest.is_(True))


def get_object_acl(conn: Conn, bucket: str, key: str, version_id: str | None = None) -> Any:
    """An object version's stored ACL document (None: not set; the owner has full control)."""
    text = conn.execute(
        select(s3_objects.c.acl).where(_version_filter(bucket, key, version_id))
    ).scalar_one_or_none()
    return _load(text)


def set_object_acl(session: Session, bucket: str, key: str, version_id: str | None, acl: Any) -> bool:
    """Replace an object version's ACL document; False when no such version exists."""
    result = session.execute(update(s3_objects).where(_version_filter(bucket, key, version_id)).values(acl=_json(acl)))
    return result.rowcount > 0


def set_tags(session: Session, bucket: str, key: str, version_id: str | None, tags: dict[str, str] | None) -> bool:
    """Replace (None: remove) an object version's tag set; False when no such version exists."""
    result = session.execute(
        update(s3_objects).where(_version_filter(bucket, key, version_id)).values(tags=_json(tags or None))
    )
    return result.rowcount > 0


def has_objects(conn: Conn, bucket: str) -> bool:
    """Whether a bucket holds any version or delete marker (BucketNotEmpty)."""
    return conn.execute(select(s3_objects.c.id).where(s3_objects.c.bucket == bucket).limit(1)).first() is not None
