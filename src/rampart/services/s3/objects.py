"""Object operations: PutObject, GetObject, HeadObject, CopyObject.

Every object is encrypted with its own data key (``encryption``), stored as
segmented blobs (``blobs``). Each version records its owner account: the
bucket owner under Object Ownership's BucketOwnerEnforced default, the
writer's account under ObjectWriter (and under BucketOwnerPreferred unless
the writer sent bucket-owner-full-control), see ``acl.new_object_owner``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3 import acl as acls
from rampart.services.s3 import objects_io as io_
from rampart.services.s3 import objects_store
from rampart.services.s3.encryption import choose_envelope
from rampart.services.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    MethodNotAllowed,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
    invalid_argument,
)
from rampart.services.s3.facts import bucket_facts, call_object
from rampart.services.s3.objects_store import NewVersion, ObjectVersion
from rampart.services.s3.objects_tagging import tags_from_header
from rampart.services.s3.store import Bucket, require_bucket

MAX_KEY_BYTES = 1024

# Called with (call, bucket, params) for a new object: access control answers its ACL document
# (None: no ACL stored, the bucket owner has full control).
NewObjectAclHook = Callable[[Call, Bucket, dict[str, Any]], Any]
new_object_acl_hooks: list[NewObjectAclHook] = []


def _check_key(key: str) -> None:
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidArgument("Your key is too long", code="KeyTooLongError")
    if not key:
        raise invalid_argument("A key must be specified", "key", key)


def new_object_acl(call: Call, bucket: Bucket, params: dict[str, Any]) -> Any:
    """The ACL document a new object gets (from access control's hook, if installed)."""
    acl = None
    for hook in new_object_acl_hooks:
        acl = hook(call, bucket, params)
    return acl


def new_object_owner(call: Call, bucket: Bucket, acl: Any, writer: str | None, canned: Any = None) -> str:
    """The account owning a new object: its ACL's Owner when the request set one (the ACL was built for the
    object's owner), otherwise what the bucket's Object Ownership gives ``writer``'s upload."""
    owner = acl.get("Owner") if isinstance(acl, Mapping) else None
    if isinstance(owner, Mapping) and isinstance(owner.get("DisplayName"), str) and owner["DisplayName"]:
        return str(owner["DisplayName"])
    facts = bucket_facts(call, bucket.name)
    ownership = acls.ownership_from(facts.document(acls.OWNERSHIP_KIND)) if facts is not None else acls.ENFORCED
    return acls.new_object_owner(ownership, writer, bucket.account_id, canned if isinstance(canned, str) else None)


def _check_write_conditions(call: Call, bucket: Bucket, key: str, params: dict[str, Any]) -> None:
    """Conditional writes: If-None-Match ``*`` (create only) and If-Match (replace that ETag only)."""
    if params.get("IfNoneMatch") is None and params.get("IfMatch") is None:
        return
    with call.gateway.db.read() as conn:
        current = objects_store.get_latest(conn, bucket.name, key)
    exists = current is not None and not current.delete_marker
    if params.get("IfNoneMatch") == "*" and exists:
        raise PreconditionFailed("If-None-Match")
    if params.get("IfMatch") is not None:
        if not exists:
            raise NoSuchKey(key)
        assert current is not None
        if params["IfMatch"].strip('"') != current.etag:
            raise PreconditionFailed("If-Match")


@handler("s3", "PutObject")
def put_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Store an object: durable before it is acknowledged, visible only when complete."""
    key = params["Key"]
    _check_key(key)
    facts = bucket_facts(call, params["Bucket"])  # write_version locks and re-reads the row at commit
    if facts is None:
        raise NoSuchBucket(params["Bucket"])
    bucket = facts.bucket
    _check_write_conditions(call, bucket, key, params)
    tags = tags_from_header(params.get("Tagging"))
    metadata, headers = io_.user_metadata(params), io_.content_headers(params)  # checked before the body is stored
    acl = new_object_acl(call, bucket, params)
    owner = new_object_owner(call, bucket, acl, call.account_id, params.get("ACL"))
    data_key, envelope = choose_envelope(call, bucket, key, params)
    stored = io_.store_body(call, data_key, io_.body_stream(params.get("Body")), params, inline=True)
    new = NewVersion(
        key, stored.pending.size, stored.md5, owner, call.received_at, envelope,
        [stored.pending.ref()], headers, metadata, stored.checksum,
        params.get("StorageClass") or objects_store.STANDARD, acl=acl, tags=tags,
    )
    version_id = io_.commit_version(call, bucket, new, [stored.pending])
    out: dict[str, Any] = {"ETag": io_.quoted(stored.md5), **envelope.response_headers()}
    if bucket.versioning:
        out["VersionId"] = version_id
    if stored.checksum:
        out.update(io_.checksum_output(stored.checksum))
    return out


def _readable_version(call: Call, params: dict[str, Any]) -> tuple[Bucket, ObjectVersion]:
    """The bucket and the version a GET/HEAD reads; delete markers answer as S3 does."""
    if params.get("VersionId"):
        with call.gateway.db.read() as conn:
            bucket = require_bucket(conn, params["Bucket"])
            version = io_.find_version(conn, bucket.name, params["Key"], params["VersionId"])
    else:
        # The bucket's cached snapshot and the row authorization already read for this call.
        facts = bucket_facts(call, params["Bucket"])
        if facts is None:
            raise NoSuchBucket(params["Bucket"])
        latest = call_object(call, facts.bucket.name, params["Key"], None)
        if latest is None:
            raise NoSuchKey(params["Key"])
        bucket, version = facts.bucket, latest
    if version.delete_marker:
        headers = [("x-amz-delete-marker", "true"), ("x-amz-version-id", version.version_id)]
        if params.get("VersionId"):
            error: Exception = MethodNotAllowed("The specified method is not allowed against this resource.",
                                                fields={"Method": "GET", "ResourceType": "DeleteMarker"})
            headers.append(("Last-Modified", version.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT")))
        else:
            error = NoSuchKey(params["Key"])
        error.headers = headers  # type: ignore[attr-defined]
        raise error
    return bucket, version


def _response_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """response-content-type and friends replace the stored headers in the answer."""
    names = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType", "Expires")
    return {name: params[f"Response{name}"] for name in names if params.get(f"Response{name}") is not None}


@handler("s3", "GetObject")
def get_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Read an object or a byte range of it, decrypting only the segments the range touches."""
    bucket, version = _readable_version(call, params)
    io_.check_conditions(version, params)
    out = io_.version_output(bucket, version, params)
    chosen = io_.parse_range(params.get("Range"), version.size)
    if chosen is None:
        out["Body"] = io_.read_body(call, bucket, version, 0, version.size - 1, None)
    else:
        start, end = chosen
        out["Body"] = io_.read_body(call, bucket, version, start, end, 206)
        out["ContentLength"] = end - start + 1
        out["ContentRange"] = f"bytes {start}-{end}/{version.size}"
        for name in [n for n in out if n.startswith("Checksum")]:
            del out[name]  # a range has no whole-object checksum
    out.update(_response_overrides(params))
    return out


@handler("s3", "HeadObject")
def head_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An object's metadata, with the same conditional and range rules as GetObject."""
    bucket, version = _readable_version(call, params)
    io_.check_conditions(version, params)
    out = io_.version_output(bucket, version, params)
    chosen = io_.parse_range(params.get("Range"), version.size)
    if chosen is not None:
        out["ContentLength"] = chosen[1] - chosen[0] + 1
        out["ContentRange"] = f"bytes {chosen[0]}-{chosen[1]}/{version.size}"
    out.update(_response_overrides(params))
    return out


def parse_copy_source(text: str) -> tuple[str, str, str | None]:
    """``bucket/key[?versionId=v]`` (URL-encoded, optional leading slash) -> (bucket, key, version)."""
    source, _, query = text.partition("?")
    version = None
    if query:
        name, _, value = query.partition("=")
        if name != "versionId" or not value:
            raise invalid_argument("Invalid copy source object version id", "x-amz-copy-source", text)
        version = unquote(value)
    source = unquote(source).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise InvalidArgument("Invalid copy source object key", fields={"ArgumentName": "x-amz-copy-source",
                                                                          "ArgumentValue": text})
    return bucket, key, version


def copy_source_version(call: Call, copy_source: str, params: dict[str, Any]) -> tuple[Bucket, ObjectVersion]:
    """The source of a copy: found, not a delete marker, its copy-source conditions met."""
    name, key, version_id = parse_copy_source(copy_source)
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, name)
        version = io_.find_version(conn, name, key, version_id)
    if version.delete_marker:
        if version_id:
            raise InvalidRequest("The source of a copy request may not specifically refer to a delete marker by "
                                 "version id.")
        raise NoSuchKey(key)
    io_.check_conditions(version, params, prefix="CopySource")
    return bucket, version


def _copy_is_noop(source_bucket: Bucket, source: ObjectVersion, params: dict[str, Any]) -> bool:
    same = source_bucket.name == params["Bucket"] and source.key == params["Key"]
    changes = (params.get("MetadataDirective") == "REPLACE", params.get("StorageClass"),
               params.get("WebsiteRedirectLocation"), params.get("ServerSideEncryption"),
               params.get("SSEKMSKeyId"))
    return same and not any(changes)


@handler("s3", "CopyObject")
def copy_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Copy a version into a new object, re-encrypted under its own data key."""
    key = params["Key"]
    _check_key(key)
    source_bucket, source = copy_source_version(call, params["CopySource"], params)
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
    if _copy_is_noop(source_bucket, source, params):
        raise InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself without changing the "
            "object's metadata, storage class, website redirect location or encryption attributes."
        )
    replace = params.get("MetadataDirective") == "REPLACE"
    headers = io_.content_headers(params) if replace else dict(source.headers)
    metadata = io_.user_metadata(params) if replace else dict(source.metadata)
    tags = tags_from_header(params.get("Tagging")) if params.get("TaggingDirective") == "REPLACE" else source.tags
    data_key, envelope = choose_envelope(call, bucket, key, params)
    reader = io_.version_reader(call, source_bucket, source)
    copy_params = {"ChecksumAlgorithm": params.get("ChecksumAlgorithm") or
                   (source.checksum or {}).get("algorithm")} if (params.get("ChecksumAlgorithm") or (
                       source.checksum and source.checksum.get("type") == "FULL_OBJECT")) else {}
    stored = io_.store_body(call, data_key, reader, copy_params, inline=True)
    acl = new_object_acl(call, bucket, params)
    new = NewVersion(
        key, stored.pending.size, stored.md5, new_object_owner(call, bucket, acl, call.account_id, params.get("ACL")),
        call.received_at, envelope, [stored.pending.ref()], headers, metadata, stored.checksum,
        params.get("StorageClass") or source.storage_class, acl=acl, tags=tags,
    )
    version_id = io_.commit_version(call, bucket, new, [stored.pending])
    result: dict[str, Any] = {"ETag": io_.quoted(stored.md5), "LastModified": call.received_at}
    if stored.checksum:
        result.update(io_.checksum_output(stored.checksum))
    out: dict[str, Any] = {"CopyObjectResult": result, **envelope.response_headers()}
    if source.version_id != objects_store.NULL_VERSION or source_bucket.versioning:
        out["CopySourceVersionId"] = source.version_id
    if bucket.versioning:
        out["VersionId"] = version_id
    return out
