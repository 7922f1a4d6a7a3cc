"""DeleteObject and DeleteObjects, with S3's versioning rules.

Without a version id: an unversioned bucket loses the key's ``null``
version; a versioning-enabled bucket gains a delete marker (the data stays,
as older versions); a suspended bucket gets a ``null`` delete marker that
replaces the ``null`` version. With a version id, that version goes for
good. Files are removed only after the database commit.

DeleteObjects is authorized key by key, as S3 does: the gateway leaves
s3:DeleteObject / s3:DeleteObjectVersion to the handler, which asks the
engine about every key before deleting anything; a denied key is reported in
Errors (AccessDenied, "Access Denied") while the others go.
"""

from __future__ import annotations

from typing import Any

from rampart.gateway.authorize import ItemAuthorizer, defer_to_handler
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3 import blobs, objects_store
from rampart.services.s3.errors import AwsError, MalformedXML, invalid_argument
from rampart.services.s3.objects_io import blob_root
from rampart.services.s3.objects_store import NULL_VERSION
from rampart.services.s3.store import Bucket, require_bucket

MAX_DELETE_KEYS = 1000
DELETE = "s3:DeleteObject"
DELETE_VERSION = "s3:DeleteObjectVersion"


def _delete_one(call: Call, session: Any, bucket: Bucket, key: str, version_id: str | None) -> tuple[dict[str, Any],
                                                                                                         list[str]]:
    """Delete one key or version inside ``session``; returns (the result members, orphaned blobs)."""
    if version_id:
        if version_id != NULL_VERSION and len(version_id) != 32:
            raise invalid_argument("Invalid version id specified", "versionId", version_id)
        gone = objects_store.delete_version(session, bucket.name, key, version_id)
        out: dict[str, Any] = {"VersionId": version_id}
        if gone is not None and gone.delete_marker:
            out["DeleteMarker"] = True
        return out, gone.blob_ids if gone is not None else []
    if bucket.versioning is None:
        gone = objects_store.delete_version(session, bucket.name, key, NULL_VERSION)
        return {}, gone.blob_ids if gone is not None else []
    marker_id, orphans = objects_store.add_delete_marker(session, bucket, key, bucket.account_id, call.received_at)
    return {"DeleteMarker": True, "VersionId": marker_id}, orphans


@handler("s3", "DeleteObject")
def delete_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete a key (or one version of it); deleting what is not there succeeds too."""
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        out, orphans = _delete_one(call, session, bucket, params["Key"], params.get("VersionId"))
    blobs.delete_blobs(blob_root(call), orphans)
    return out


def _denied_keys(call: Call, params: dict[str, Any], bucket: Bucket, objects: list[dict[str, Any]]) -> list[bool]:
    """For each requested item, whether the caller may not delete it (s3:DeleteObjectVersion with a VersionId).

    Asked for every item before any is deleted; the answers per (key, version)
    are reused when a request names the same item twice.
    """
    checker = ItemAuthorizer(call, params)
    answers: dict[tuple[str, str | None], bool] = {}
    denied: list[bool] = []
    for item in objects:
        key, version_id = item.get("Key", ""), item.get("VersionId") or None
        found = answers.get((key, version_id))
        if found is None:
            arn = f"{bucket.arn}/{key}"
            if version_id:
                found = not checker.allowed(DELETE_VERSION, arn, {"s3:VersionId": version_id})
            else:
                found = not checker.allowed(DELETE, arn)
            answers[(key, version_id)] = found
        denied.append(found)
    return denied


def _deleted_entry(key: str, version_id: str | None, out: dict[str, Any]) -> dict[str, Any]:
    """One Deleted member, as S3 words it for a version, a delete marker, or a plain key."""
    entry: dict[str, Any] = {"Key": key}
    if version_id:
        entry["VersionId"] = version_id
        if out.get("DeleteMarker"):
            entry["DeleteMarker"] = True
            entry["DeleteMarkerVersionId"] = version_id
    elif out.get("DeleteMarker"):
        entry["DeleteMarker"] = True
        entry["DeleteMarkerVersionId"] = out["VersionId"]
    return entry


@defer_to_handler("s3", "DeleteObjects", DELETE, DELETE_VERSION)
@handler("s3", "DeleteObjects")
def delete_objects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Delete up to 1,000 keys in one request; each key is authorized and succeeds or fails alone. Quiet: errors only."""
    request = params.get("Delete") or {}
    objects = request.get("Objects") or []
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise MalformedXML()
    deleted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    orphans: list[str] = []
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        denied = _denied_keys(call, params, bucket, objects)
        for item, refused in zip(objects, denied, strict=True):
            key, version_id = item.get("Key", ""), item.get("VersionId")
            if refused:
                errors.append({"Key": key, "VersionId": version_id, "Code": "AccessDenied", "Message": "Access Denied"})
                continue
            try:
                out, gone = _delete_one(call, session, bucket, key, version_id)
            except AwsError as error:
                errors.append({"Key": key, "VersionId": version_id, "Code": error.code, "Message": error.message})
                continue
            orphans.extend(gone)
            deleted.append(_deleted_entry(key, version_id, out))
    blobs.delete_blobs(blob_root(call), orphans)
    result: dict[str, Any] = {}
    if not request.get("Quiet") and deleted:
        result["Deleted"] = deleted
    if errors:
        result["Errors"] = errors
    return result
