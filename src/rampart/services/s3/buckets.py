"""Bucket operations: create, delete, head, list, location, versioning.

Bucket names are global: a name another account holds is
BucketAlreadyExists; the caller's own name is BucketAlreadyOwnedByYou except
in us-east-1, where AWS answers 200 for compatibility. A bucket lives in the
region of the endpoint it was created through (the signature's region), and
the LocationConstraint must agree with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable
from typing import Any

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3 import objects_store
from rampart.services.s3.errors import (
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    IllegalLocationConstraintException,
    InvalidBucketName,
    MalformedXML,
    NoSuchBucket,
)
from rampart.services.s3.store import (
    Bucket,
    delete_bucket_row,
    get_bucket,
    insert_bucket,
    list_buckets,
    require_bucket,
    set_versioning,
)
from rampart.services.s3.tables import s3_uploads

DEFAULT_REGION = "us-east-1"
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

# Called inside CreateBucket's transaction with (call, session, bucket, params): access
# control (acl/configs) stores the bucket's ACL and ownership controls from the request.
BucketCreatedHook = Callable[[Call, Any, Bucket, dict[str, Any]], None]
bucket_created_hooks: list[BucketCreatedHook] = []


def canonical_user_id(account_id: str) -> str:
    """An account's canonical user id: 64 hex digits, stable per account (AWS's form)."""
    return hashlib.sha256(f"rampart/s3/canonical-user/{account_id}".encode()).hexdigest()


def owner_of(account_id: str) -> dict[str, str]:
    """The Owner element S3 answers for an account."""
    return {"DisplayName": account_id, "ID": canonical_user_id(account_id)}


def valid_bucket_name(name: str) -> bool:
    """S3's naming rules for general purpose buckets."""
    if not _NAME.fullmatch(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


def _location(call: Call, params: dict[str, Any]) -> str:
    """The region the new bucket lives in, checked against the endpoint's region."""
    config = params.get("CreateBucketConfiguration") or {}
    constraint = config.get("LocationConstraint")
    if constraint in (None, ""):
        if call.region != DEFAULT_REGION:
            raise IllegalLocationConstraintException(
                "The unspecified location constraint is incompatible for the region specific endpoint "
                "this request was sent to."
            )
        return DEFAULT_REGION
    if constraint == DEFAULT_REGION and call.region == DEFAULT_REGION:
        raise _invalid_constraint()
    if constraint == "EU":
        constraint = "eu-west-1"
    if call.region != DEFAULT_REGION and constraint != call.region:
        raise IllegalLocationConstraintException(
            f"The {constraint} location constraint is incompatible for the region specific endpoint this "
            "request was sent to."
        )
    return str(constraint)


def _invalid_constraint() -> IllegalLocationConstraintException:
    return IllegalLocationConstraintException(
        "The specified location-constraint is not valid", code="InvalidLocationConstraint"
    )


@handler("s3", "CreateBucket")
def create_bucket(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Create a bucket owned by the caller's account, in the endpoint's region."""
    name = params["Bucket"]
    if not valid_bucket_name(name):
        raise InvalidBucketName(name)
    region = _location(call, params)
    with call.gateway.db.session() as session:
        existing = get_bucket(session, name)
        if existing is not None:
            if existing.account_id != call.account_id:
                raise BucketAlreadyExists(name)
            if existing.region == DEFAULT_REGION and region == DEFAULT_REGION:
                return {"Location": f"/{name}", "BucketArn": existing.arn}
            raise BucketAlreadyOwnedByYou(name)
        bucket = Bucket(name, str(call.account_id), region, call.received_at)
        insert_bucket(session, bucket)
        for hook in bucket_created_hooks:
            hook(call, session, bucket, params)
    return {"Location": f"/{name}", "BucketArn": bucket.arn}


@handler("s3", "DeleteBucket")
def delete_bucket(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete an empty bucket (no objects, versions, delete markers or uploads in progress)."""
    name = params["Bucket"]
    with call.gateway.db.session() as session:
        if objects_store.lock_bucket(session, name) is None:
            raise NoSuchBucket(name)
        if objects_store.has_objects(session, name):
            raise BucketNotEmpty(name)
        if session.execute(s3_uploads.select().where(s3_uploads.c.bucket == name).limit(1)).first():
            raise BucketNotEmpty(name)
        delete_bucket_row(session, name)
    return {}


@handler("s3", "HeadBucket")
def head_bucket(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """200 with the bucket's region, or 404."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
    return {"BucketRegion": bucket.region, "AccessPointAlias": False}


@handler("s3", "ListBuckets")
def list_all_buckets(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The caller's account's buckets by name, with Prefix, BucketRegion and MaxBuckets paging."""
    with call.gateway.db.read() as conn:
        buckets = list_buckets(conn, str(call.account_id))
    prefix = params.get("Prefix") or ""
    region = params.get("BucketRegion")
    after = params.get("ContinuationToken") or ""
    chosen = [b for b in buckets if b.name.startswith(prefix) and (region is None or b.region == region)]
    chosen = [b for b in chosen if b.name > after]
    limit = params.get("MaxBuckets")
    out: dict[str, Any] = {"Owner": owner_of(str(call.account_id))}
    if limit is not None and len(chosen) > limit:
        chosen = chosen[:limit]
        out["ContinuationToken"] = chosen[-1].name
    out["Buckets"] = [{"Name": b.name, "CreationDate": b.created_at, "BucketRegion": b.region} for b in chosen]
    if prefix:
        out["Prefix"] = prefix
    return out


@handler("s3", "GetBucketLocation")
def get_bucket_location(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The bucket's region; us-east-1 is the empty constraint, as S3 answers it."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
    return {"LocationConstraint": None if bucket.region == DEFAULT_REGION else bucket.region}


@handler("s3", "PutBucketVersioning")
def put_bucket_versioning(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Enable or suspend versioning (a bucket can never return to unversioned)."""
    config = params.get("VersioningConfiguration") or {}
    status = config.get("Status")
    if status not in ("Enabled", "Suspended"):
        raise MalformedXML()
    with call.gateway.db.session() as session:
        require_bucket(session, params["Bucket"])
        set_versioning(session, params["Bucket"], status)
    return {}


@handler("s3", "GetBucketVersioning")
def get_bucket_versioning(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The versioning status; nothing at all for a bucket never configured."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
    return {"Status": bucket.versioning} if bucket.versioning else {}
