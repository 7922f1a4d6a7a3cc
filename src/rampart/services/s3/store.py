"""Bucket rows and bucket/account configuration documents: what every S3 module reads.

Objects, versions and multipart uploads have their own modules; this one
holds only what both the data path and access control need: who owns a
bucket, where it lives, and its stored sub-resources.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session

from rampart.services.s3.errors import NoSuchBucket
from rampart.services.s3.tables import s3_account_configs, s3_bucket_configs, s3_buckets

Conn = Connection | Session


@dataclass(frozen=True, slots=True)
class Bucket:
    """A bucket row; ``versioning`` is None until first configured, then Enabled or Suspended."""

    name: str
    account_id: str
    region: str
    created_at: dt.datetime
    versioning: str | None = None

    @property
    def arn(self) -> str:
        """The bucket's ARN (S3 ARNs carry no region or account)."""
        return f"arn:aws:s3:::{self.name}"


def _changed(session: Session, bucket: str | None = None, account_id: str | None = None) -> None:
    """Tell the access-control cache (``facts``) that this transaction changes a bucket or account document."""
    from rampart.services.s3 import facts

    if account_id is None and bucket is not None:
        account_id = session.execute(
            select(s3_buckets.c.account_id).where(s3_buckets.c.name == bucket)
        ).scalar_one_or_none()
    facts.changed(session, account_id)


def get_bucket(conn: Conn, name: str) -> Bucket | None:
    """The bucket called ``name`` in any account, or None."""
    row = conn.execute(select(s3_buckets).where(s3_buckets.c.name == name)).one_or_none()
    return Bucket(row.name, row.account_id, row.region, row.created_at, row.versioning) if row else None


def require_bucket(conn: Conn, name: str) -> Bucket:
    """The bucket, or NoSuchBucket."""
    bucket = get_bucket(conn, name)
    if bucket is None:
        raise NoSuchBucket(name)
    return bucket


def insert_bucket(session: Session, bucket: Bucket) -> None:
    """Add a bucket row (the caller has checked that the name is free)."""
    _changed(session, account_id=bucket.account_id)
    session.execute(
        insert(s3_buckets).values(
            name=bucket.name,
            account_id=bucket.account_id,
            region=bucket.region,
            created_at=bucket.created_at,
            versioning=bucket.versioning,
        )
    )


def set_versioning(session: Session, name: str, status: str) -> None:
    """Record a bucket's versioning status (Enabled or Suspended)."""
    _changed(session, name)
    session.execute(update(s3_buckets).where(s3_buckets.c.name == name).values(versioning=status))


def delete_bucket_row(session: Session, name: str) -> None:
    """Remove a bucket and (by cascade) its configuration documents."""
    _changed(session, name)
    session.execute(delete(s3_bucket_configs).where(s3_bucket_configs.c.bucket == name))
    session.execute(delete(s3_buckets).where(s3_buckets.c.name == name))


def list_buckets(conn: Conn, account_id: str) -> list[Bucket]:
    """An account's buckets, by name."""
    rows = conn.execute(
        select(s3_buckets).where(s3_buckets.c.account_id == account_id).order_by(s3_buckets.c.name)
    ).all()
    return [Bucket(r.name, r.account_id, r.region, r.created_at, r.versioning) for r in rows]


def get_config(conn: Conn, bucket: str, kind: str) -> Any | None:
    """A bucket's stored ``kind`` document (decoded JSON), or None when not set."""
    t = s3_bucket_configs
    text = conn.execute(select(t.c.document).where(t.c.bucket == bucket, t.c.kind == kind)).scalar_one_or_none()
    return orjson.loads(text) if text is not None else None


def put_config(session: Session, bucket: str, kind: str, document: Any) -> None:
    """Set (replace) a bucket's ``kind`` document."""
    _changed(session, bucket)
    t = s3_bucket_configs
    session.execute(delete(t).where(t.c.bucket == bucket, t.c.kind == kind))
    session.execute(insert(t).values(bucket=bucket, kind=kind, document=orjson.dumps(document).decode()))


def delete_config(session: Session, bucket: str, kind: str) -> bool:
    """Remove a bucket's ``kind`` document; True when there was one."""
    _changed(session, bucket)
    t = s3_bucket_configs
    return session.execute(delete(t).where(t.c.bucket == bucket, t.c.kind == kind)).rowcount > 0


def get_account_config(conn: Conn, account_id: str, kind: str) -> Any | None:
    """An account-level S3 document (the account's public access block), or None."""
    t = s3_account_configs
    text = conn.execute(
        select(t.c.document).where(t.c.account_id == account_id, t.c.kind == kind)
    ).scalar_one_or_none()
    return orjson.loads(text) if text is not None else None


def put_account_config(session: Session, account_id: str, kind: str, document: Any) -> None:
    """Set (replace) an account-level S3 document."""
    _changed(session, account_id=account_id)
    t = s3_account_configs
    session.execute(delete(t).where(t.c.account_id == account_id, t.c.kind == kind))
    session.execute(insert(t).values(account_id=account_id, kind=kind, document=orjson.dumps(document).decode()))


def delete_account_config(session: Session, account_id: str, kind: str) -> bool:
    """Remove an account-level S3 document; True when there was one."""
    _changed(session, account_id=account_id)
    t = s3_account_configs
    return session.execute(delete(t).where(t.c.account_id == account_id, t.c.kind == kind)).rowcount > 0
