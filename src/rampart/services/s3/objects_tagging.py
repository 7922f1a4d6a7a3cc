"""Object tagging: the x-amz-tagging header on writes, and Put/Get/DeleteObjectTagging.

Tags are stored on the object version (a JSON map); the rules are S3's: at
most 10 tags, keys 1-128 and values 0-256 characters, no repeated keys, no
``aws:`` prefix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3 import objects_store
from rampart.services.s3.errors import (
    InvalidTag,
    MethodNotAllowed,
    NoSuchKey,
    NoSuchVersion,
)
from rampart.services.s3.store import require_bucket

MAX_TAGS = 10


def check_tags(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The tag map, or InvalidTag for a set S3 refuses."""
    if len(pairs) > MAX_TAGS:
        raise InvalidTag("Object tags cannot be greater than 10")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise InvalidTag("Cannot provide multiple Tags with the same key")
        if not 1 <= len(key) <= 128:
            raise InvalidTag("The TagKey you have provided is too long, max 128")
        if len(value) > 256:
            raise InvalidTag("The TagValue you have provided is too long, max 256")
        if key.lower().startswith("aws:"):
            raise InvalidTag("Your TagKey cannot be prefixed with aws:")
        tags[key] = value
    return tags


def tags_from_header(value: str | None) -> dict[str, str] | None:
    """The x-amz-tagging header (URL query form ``k1=v1&k2=v2``) as a tag map."""
    if not value:
        return None
    return check_tags(parse_qsl(value, keep_blank_values=True))


def _target(call: Call, params: dict[str, Any]) -> objects_store.ObjectVersion:
    with call.gateway.db.read() as conn:
        require_bucket(conn, params["Bucket"])
        version_id = params.get("VersionId")
        if version_id:
            found = objects_store.get_version(conn, params["Bucket"], params["Key"], version_id)
            if found is None:
                raise NoSuchVersion(params["Key"], version_id)
        else:
            found = objects_store.get_latest(conn, params["Bucket"], params["Key"])
            if found is None or found.delete_marker:
                raise NoSuchKey(params["Key"])
    if found.delete_marker:
        raise MethodNotAllowed("The specified method is not allowed against this resource.")
    return found


def _set(call: Call, version: objects_store.ObjectVersion, tags: dict[str, str] | None) -> None:
    with call.gateway.db.session() as session:
        objects_store.set_tags(session, version.bucket, version.key, version.version_id, tags)


@handler("s3", "PutObjectTagging")
def put_object_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace an object version's tag set."""
    tag_set = (params.get("Tagging") or {}).get("TagSet") or []
    tags = check_tags([(t.get("Key", ""), t.get("Value", "")) for t in tag_set])
    version = _target(call, params)
    _set(call, version, tags)
    return {"VersionId": version.version_id}


@handler("s3", "GetObjectTagging")
def get_object_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An object version's tag set (empty when it has none)."""
    version = _target(call, params)
    return {"VersionId": version.version_id, "TagSet": [{"Key": k, "Value": v} for k, v in version.tags.items()]}


@handler("s3", "DeleteObjectTagging")
def delete_object_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove an object version's tags."""
    version = _target(call, params)
    _set(call, version, None)
    return {"VersionId": version.version_id}
