"""ListObjects, ListObjectsV2 and ListObjectVersions: prefix, delimiter, markers, paging.

Keys are listed in UTF-8 byte order (the database column's collation; see
``tables``). A delimiter rolls keys up into CommonPrefixes, each counting
as one entry against MaxKeys; after a prefix the scan jumps past every key
under it instead of reading them (the next query starts at the prefix's
successor), so a folder of a million keys costs one row.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, or_, select

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3 import acl as acls
from rampart.services.s3.buckets import owner_of
from rampart.services.s3.errors import InvalidArgument, invalid_argument
from rampart.services.s3.objects_io import quoted
from rampart.services.s3.objects_store import ObjectVersion, _version_of
from rampart.services.s3.store import Bucket, Conn, require_bucket
from rampart.services.s3.tables import OBJECT_METADATA_COLUMNS, s3_objects

MAX_KEYS = 1000


def _successor(text: str) -> str | None:
    """The least string greater than every string starting with ``text`` (None: no bound)."""
    while text:
        last = ord(text[-1])
        if last < 0x10FFFF:
            bump = last + 1 if last + 1 not in range(0xD800, 0xE000) else 0xE000
            return text[:-1] + chr(bump)
        text = text[:-1]
    return None


@dataclass(slots=True)
class Page:
    """One page of a listing: entries (versions), rolled-up prefixes, and where it stopped."""

    entries: list[ObjectVersion] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str | None = None  # the last key or prefix returned (the next marker)


@dataclass(slots=True)
class _Scan:
    bucket: str
    prefix: str
    delimiter: str
    limit: int
    versions: bool  # every version and delete marker, not only current objects


def _query(scan: _Scan, lower: str, inclusive: bool, batch: int) -> Any:
    t = s3_objects
    where = [t.c.bucket == scan.bucket, t.c.key >= lower if inclusive else t.c.key > lower]
    if scan.prefix:
        where.append(t.c.key >= scan.prefix)
        upper = _successor(scan.prefix)
        if upper is not None:
            where.append(t.c.key < upper)
    if not scan.versions:
        where += [t.c.is_latest.is_(True), t.c.delete_marker.is_(False)]
    return select(*OBJECT_METADATA_COLUMNS).where(and_(*where)).order_by(t.c.key, t.c.id.desc()).limit(batch)


def scan_keys(conn: Conn, scan: _Scan, lower: str, inclusive: bool, page: Page | None = None) -> Page:
    """Collect up to ``scan.limit`` entries and prefixes from ``lower`` on."""
    page = page or Page()
    batch = min(MAX_KEYS, scan.limit + 1) if scan.limit else 1
    while True:
        rows = conn.execute(_query(scan, lower, inclusive, batch)).all()
        if not rows:
            return page
        jumped = False
        for row in rows:
            if not row.key.startswith(scan.prefix):
                continue
            rolled = _rolled_prefix(row.key, scan.prefix, scan.delimiter)
            if len(page.entries) + len(page.prefixes) >= scan.limit:
                page.truncated = True
                return page
            if rolled is not None:
                page.prefixes.append(rolled)
                page.last = rolled
                upper = _successor(rolled)
                if upper is None:
                    return page
                lower, inclusive, jumped = upper, True, True
                break
            page.entries.append(_version_of(row))
            page.last = row.key
            lower, inclusive = row.key, scan.versions  # versions: the same key may continue
        if not jumped:
            if len(rows) < batch:
                return page
            if scan.versions:  # continue after the last row exactly
                return _continue_versions(conn, scan, page, rows[-1])


def _continue_versions(conn: Conn, scan: _Scan, page: Page, last_row: Any) -> Page:
    """Versions past a full batch: the rest of the last key's versions, then the next keys."""
    t = s3_objects
    rest = conn.execute(
        select(*OBJECT_METADATA_COLUMNS).where(t.c.bucket == scan.bucket, t.c.key == last_row.key, t.c.id < last_row.id).order_by(t.c.id.desc())
    ).all()
    for row in rest:
        if len(page.entries) + len(page.prefixes) >= scan.limit:
            page.truncated = True
            return page
        page.entries.append(_version_of(row))
    return scan_keys(conn, scan, last_row.key, False, page)


def _rolled_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return key[: at + len(delimiter)] if at >= 0 else None


def _max_keys(params: dict[str, Any]) -> int:
    value = params.get("MaxKeys")
    if value is None:
        return MAX_KEYS
    if value < 0:
        raise invalid_argument("Argument maxKeys must be an integer between 0 and 2147483647", "maxKeys", value)
    return min(value, MAX_KEYS)


def _encoder(params: dict[str, Any]) -> Callable[[str], str]:
    kind = params.get("EncodingType")
    if kind is None:
        return lambda text: text
    if kind != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", kind)
    return lambda text: quote(text, safe="/")


OwnerOf = Callable[[ObjectVersion], dict[str, str]]


def _owners(conn: Conn, bucket: Bucket) -> OwnerOf:
    """The Owner member of a listed version: its recorded owner, or the bucket owner for every version while
    Object Ownership is BucketOwnerEnforced (the bucket owner then owns all objects, whoever wrote them)."""
    if acls.ownership_of(conn, bucket.name) == acls.ENFORCED:
        everyone = owner_of(bucket.account_id)
        return lambda _version: everyone
    return lambda version: owner_of(version.owner_id or bucket.account_id)


def _content(version: ObjectVersion, enc: Callable[[str], str], owner: OwnerOf | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Key": enc(version.key),
        "LastModified": version.last_modified,
        "ETag": quoted(version.etag),
        "Size": version.size,
        "StorageClass": version.storage_class,
    }
    if version.checksum:
        out["ChecksumAlgorithm"] = [version.checksum["algorithm"]]
        out["ChecksumType"] = version.checksum.get("type", "FULL_OBJECT")
    if owner:
        out["Owner"] = owner(version)
    return out


def _common(page: Page, enc: Callable[[str], str]) -> list[dict[str, str]]:
    return [{"Prefix": enc(p)} for p in page.prefixes]


def _listing(call: Call, params: dict[str, Any], after: str) -> tuple[Page, Callable[[str], str], int, OwnerOf]:
    enc = _encoder(params)
    limit = _max_keys(params)
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        scan = _Scan(bucket.name, params.get("Prefix") or "", params.get("Delimiter") or "", limit, False)
        lower, inclusive = _start(scan, after)
        page = scan_keys(conn, scan, lower, inclusive) if limit and lower is not None else Page()
        owners = _owners(conn, bucket)
    return page, enc, limit, owners


def _start(scan: _Scan, after: str) -> tuple[str | None, bool]:
    """Where a listing resumes: after the marker, past all of a rolled-up prefix the marker names."""
    if not after or after < scan.prefix:
        return scan.prefix, True
    if after.startswith(scan.prefix) and _rolled_prefix(after, scan.prefix, scan.delimiter) == after:
        return _successor(after), True
    return after, False


def _echo(params: dict[str, Any], enc: Callable[[str], str], limit: int, page: Page) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": params["Bucket"], "Prefix": enc(params.get("Prefix") or ""), "MaxKeys": limit,
                           "IsTruncated": page.truncated}
    if params.get("Delimiter"):
        out["Delimiter"] = enc(params["Delimiter"])
    if params.get("EncodingType"):
        out["EncodingType"] = params["EncodingType"]
    if page.prefixes:
        out["CommonPrefixes"] = _common(page, enc)
    return out


@handler("s3", "ListObjects")
def list_objects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Version 1 listing: Marker paging; NextMarker when a delimiter is given and the page is truncated."""
    marker = params.get("Marker") or ""
    page, enc, limit, owners = _listing(call, params, marker)
    out = _echo(params, enc, limit, page)
    out["Marker"] = enc(marker)
    out["Contents"] = [_content(v, enc, owners) for v in page.entries]
    if page.truncated and params.get("Delimiter") and page.last:
        out["NextMarker"] = enc(page.last)
    return out


_TOKEN_TAG = b"rampart-list-1:"


def _encode_token(key: str) -> str:
    """An opaque continuation token naming where the next page starts."""
    return base64.urlsafe_b64encode(_TOKEN_TAG + key.encode("utf-8")).decode()


def _decode_token(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        if not raw.startswith(_TOKEN_TAG):
            raise ValueError(token)
        return raw[len(_TOKEN_TAG):].decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("The continuation token provided is incorrect",
                              fields={"ArgumentName": "continuation-token"}) from None


@handler("s3", "ListObjectsV2")
def list_objects_v2(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Version 2 listing: continuation tokens (opaque), StartAfter, KeyCount, FetchOwner."""
    token = params.get("ContinuationToken")
    after = _decode_token(token) if token is not None else (params.get("StartAfter") or "")
    page, enc, limit, owners = _listing(call, params, after)
    out = _echo(params, enc, limit, page)
    out["Contents"] = [_content(v, enc, owners if params.get("FetchOwner") else None) for v in page.entries]
    out["KeyCount"] = len(page.entries) + len(page.prefixes)
    if token is not None:
        out["ContinuationToken"] = token
    if params.get("StartAfter"):
        out["StartAfter"] = enc(params["StartAfter"])
    if page.truncated and page.last is not None:
        out["NextContinuationToken"] = _encode_token(page.last)
    return out


def _version_page(conn: Conn, scan: _Scan, key_marker: str, version_marker: str | None) -> Page:
    """Versions after (KeyMarker, VersionIdMarker): the marker key's older versions first."""
    t = s3_objects
    page = Page()
    if key_marker and version_marker:
        marker_id = conn.execute(
            select(t.c.id).where(t.c.bucket == scan.bucket, t.c.key == key_marker, t.c.version_id == version_marker)
        ).scalar_one_or_none()
        if marker_id is None:
            raise invalid_argument("Invalid version id specified", "version-id-marker", version_marker)
        if key_marker.startswith(scan.prefix) and _rolled_prefix(key_marker, scan.prefix, scan.delimiter) is None:
            rows = conn.execute(
                select(*OBJECT_METADATA_COLUMNS).where(or_(and_(t.c.bucket == scan.bucket, t.c.key == key_marker, t.c.id < marker_id)))
                .order_by(t.c.id.desc())
            ).all()
            for row in rows:
                if len(page.entries) >= scan.limit:
                    page.truncated = True
                    return page
                page.entries.append(_version_of(row))
                page.last = row.key
    if not key_marker:
        return scan_keys(conn, scan, scan.prefix, True, page)
    return scan_keys(conn, scan, max(key_marker, scan.prefix), key_marker < scan.prefix, page)


@handler("s3", "ListObjectVersions")
def list_object_versions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every version and delete marker, newest first within a key, with key and version-id markers."""
    enc = _encoder(params)
    limit = _max_keys(params)
    key_marker = params.get("KeyMarker") or ""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        scan = _Scan(bucket.name, params.get("Prefix") or "", params.get("Delimiter") or "", limit, True)
        page = _version_page(conn, scan, key_marker, params.get("VersionIdMarker")) if limit else Page()
        owners = _owners(conn, bucket)
    out = _echo(params, enc, limit, page)
    out["KeyMarker"] = enc(key_marker)
    if params.get("VersionIdMarker"):
        out["VersionIdMarker"] = params["VersionIdMarker"]
    out["Versions"] = [_version_entry(v, enc, owners) for v in page.entries if not v.delete_marker]
    out["DeleteMarkers"] = [
        {"Owner": owners(v), "Key": enc(v.key), "VersionId": v.version_id, "IsLatest": v.is_latest,
         "LastModified": v.last_modified}
        for v in page.entries if v.delete_marker
    ]
    if page.truncated:
        if page.entries and (not page.prefixes or page.last == page.entries[-1].key):
            out["NextKeyMarker"] = enc(page.entries[-1].key)
            out["NextVersionIdMarker"] = page.entries[-1].version_id
        elif page.last is not None:
            out["NextKeyMarker"] = enc(page.last)
    return out


def _version_entry(version: ObjectVersion, enc: Callable[[str], str], owners: OwnerOf) -> dict[str, Any]:
    out = _content(version, enc, owners)
    out["VersionId"] = version.version_id
    out["IsLatest"] = version.is_latest
    return out
