"""Multipart uploads: create, upload part (and part copy), complete, abort, list parts and uploads.

The upload gets one data key at creation (its envelope is stored with the
upload); each part is its own blob under that key, durable when UploadPart
answers. Completion stitches nothing: the object's blob list is its parts in
order, so completing a 5 TB upload is one database transaction, and a read
streams across the part blobs. Parts left out of the completed object are
deleted after the commit.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from typing import Any

import orjson
from sqlalchemy import delete, insert, select

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3 import blobs
from rampart.services.s3 import objects_io as io_
from rampart.services.s3.blobs import BlobRef
from rampart.services.s3.buckets import owner_of
from rampart.services.s3.encryption import Envelope, choose_envelope, open_envelope
from rampart.services.s3.errors import (
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    MalformedXML,
    NoSuchUpload,
    invalid_argument,
)
from rampart.services.s3.objects import (
    _check_key,
    copy_source_version,
    new_object_acl,
    new_object_owner,
)
from rampart.services.s3.objects_checksums import ALGORITHMS, Checksum, composite
from rampart.services.s3.objects_store import STANDARD, NewVersion
from rampart.services.s3.objects_tagging import tags_from_header
from rampart.services.s3.store import Bucket, Conn, require_bucket
from rampart.services.s3.tables import s3_parts, s3_uploads

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10000


def _load(text: str | None) -> Any:
    return orjson.loads(text) if text else None


def _upload(conn: Conn, bucket: str, key: str, upload_id: str, *, lock: bool = False) -> Any:
    """The upload row (NoSuchUpload unless it belongs to bucket/key); ``lock``: held for this
    transaction (PostgreSQL FOR UPDATE), so parts, completion and abort of one upload take turns."""
    query = select(s3_uploads).where(s3_uploads.c.upload_id == upload_id)
    row = conn.execute(query.with_for_update() if lock else query).one_or_none()
    if row is None or row.bucket != bucket or row.key != key:
        raise NoSuchUpload(upload_id)
    return row


@handler("s3", "CreateMultipartUpload")
def create_multipart_upload(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Start an upload: its data key, headers, metadata and checksum algorithm are fixed now."""
    key = params["Key"]
    _check_key(key)
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
    algorithm = params.get("ChecksumAlgorithm")
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise invalid_argument("Checksum algorithm provided is unsupported.", "x-amz-checksum-algorithm", algorithm)
    checksum_type = params.get("ChecksumType") or ("FULL_OBJECT" if algorithm == "CRC64NVME" else
                                                   "COMPOSITE" if algorithm else None)
    _, envelope = choose_envelope(call, bucket, key, params)
    upload_id = secrets.token_urlsafe(48)
    with call.gateway.db.session() as session:
        session.execute(insert(s3_uploads).values(
            upload_id=upload_id, bucket=bucket.name, key=key, initiated_at=call.received_at,
            initiator_arn=call.caller.arn, storage_class=params.get("StorageClass") or STANDARD,
            headers=orjson.dumps(io_.content_headers(params)).decode(),
            metadata=orjson.dumps(io_.user_metadata(params)).decode(),
            envelope=orjson.dumps(envelope.to_json()).decode(), checksum_algorithm=algorithm,
            checksum_type=checksum_type, acl=orjson.dumps(new_object_acl(call, bucket, params)).decode(),
            tags=orjson.dumps(tags_from_header(params.get("Tagging"))).decode(),
        ))
    out: dict[str, Any] = {"Bucket": bucket.name, "Key": key, "UploadId": upload_id, **envelope.response_headers()}
    if algorithm:
        out["ChecksumAlgorithm"] = algorithm
        out["ChecksumType"] = checksum_type
    return out


def _part_number(params: dict[str, Any]) -> int:
    number = params["PartNumber"]
    if not 1 <= number <= MAX_PART_NUMBER:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", number)
    return int(number)


def _store_part(call: Call, bucket: Bucket, upload: Any, number: int, stored: io_.Stored) -> None:
    """Make the part durable, record it, and drop the blob of a part it replaces."""
    stored.pending.commit()
    replaced: list[str] = []
    try:
        with call.gateway.db.session() as session:
            _upload(session, bucket.name, upload.key, upload.upload_id, lock=True)
            t = s3_parts
            old = session.execute(
                select(t.c.blob_id).where(t.c.upload_id == upload.upload_id, t.c.part_number == number)
            ).scalar_one_or_none()
            if old is not None:
                replaced.append(old)
                session.execute(delete(t).where(t.c.upload_id == upload.upload_id, t.c.part_number == number))
            session.execute(insert(t).values(
                upload_id=upload.upload_id, part_number=number, etag=stored.md5, size=stored.pending.size,
                blob_id=stored.pending.blob_id, last_modified=call.received_at,
                checksum=orjson.dumps(stored.checksum).decode() if stored.checksum else None,
            ))
    except BaseException:
        blobs.delete_blobs(io_.blob_root(call), [stored.pending.blob_id])
        raise
    blobs.delete_blobs(io_.blob_root(call), replaced)


def _upload_context(call: Call, params: dict[str, Any]) -> tuple[Bucket, Any, bytes, Envelope]:
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        upload = _upload(conn, bucket.name, params["Key"], params["UploadId"])
    envelope = Envelope.from_json(orjson.loads(upload.envelope))
    return bucket, upload, open_envelope(call, bucket, upload.key, envelope), envelope


@handler("s3", "UploadPart")
def upload_part(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Store one part (its body spooled and streamed like PutObject's)."""
    number = _part_number(params)
    bucket, upload, data_key, envelope = _upload_context(call, params)
    checked = dict(params)
    if upload.checksum_algorithm and not io_.requested_checksum(params):
        checked["ChecksumAlgorithm"] = upload.checksum_algorithm
    stored = io_.store_body(call, data_key, io_.body_stream(params.get("Body")), checked)
    _store_part(call, bucket, upload, number, stored)
    out: dict[str, Any] = {"ETag": io_.quoted(stored.md5), **envelope.response_headers()}
    if stored.checksum:
        out[f"Checksum{stored.checksum['algorithm']}"] = stored.checksum["value"]
    return out


@handler("s3", "UploadPartCopy")
def upload_part_copy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A part copied from an existing object (optionally a byte range of it)."""
    number = _part_number(params)
    source_bucket, source = copy_source_version(call, params["CopySource"], params)
    bucket, upload, data_key, envelope = _upload_context(call, params)
    start, end = 0, source.size - 1
    if params.get("CopySourceRange"):
        chosen = io_.parse_range(params["CopySourceRange"], source.size)
        if chosen is None:
            raise invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where "
                                   "first and last are the zero-based offsets of the first and last bytes to copy",
                                   "x-amz-copy-source-range", params["CopySourceRange"])
        start, end = chosen
    reader = io_.version_reader(call, source_bucket, source, start, end)
    checked = {"ChecksumAlgorithm": upload.checksum_algorithm} if upload.checksum_algorithm else {}
    stored = io_.store_body(call, data_key, reader, checked)
    _store_part(call, bucket, upload, number, stored)
    result: dict[str, Any] = {"ETag": io_.quoted(stored.md5), "LastModified": call.received_at}
    if stored.checksum:
        result[f"Checksum{stored.checksum['algorithm']}"] = stored.checksum["value"]
    out: dict[str, Any] = {"CopyPartResult": result, **envelope.response_headers()}
    if source.version_id != "null" or source_bucket.versioning:
        out["CopySourceVersionId"] = source.version_id
    return out


def _chosen_parts(conn: Conn, upload_id: str, listed: list[dict[str, Any]]) -> list[Any]:
    """The stored parts the completion names, checked as S3 checks them."""
    if not listed:
        raise MalformedXML()
    numbers = [p.get("PartNumber") for p in listed]
    if any(n is None for n in numbers):
        raise MalformedXML()
    if any(b <= a for a, b in itertools.pairwise(numbers)):
        raise InvalidPartOrder()
    stored = {r.part_number: r for r in conn.execute(select(s3_parts).where(s3_parts.c.upload_id == upload_id))}
    chosen = []
    for item in listed:
        row = stored.get(item["PartNumber"])
        if row is None or (item.get("ETag") or "").strip('"') != row.etag:
            raise InvalidPart(
                "One or more of the specified parts could not be found.  The part may not have been uploaded, "
                "or the specified entity tag may not have matched the part's entity tag.",
                fields={"UploadId": upload_id, "PartNumber": item["PartNumber"], "ETag": item.get("ETag")},
            )
        _check_part_checksum(item, row, upload_id)
        chosen.append(row)
    for row in chosen[:-1]:
        if row.size < MIN_PART_SIZE:
            raise EntityTooSmall("Your proposed upload is smaller than the minimum allowed size",
                                 fields={"ProposedSize": row.size, "MinSizeAllowed": MIN_PART_SIZE,
                                         "PartNumber": row.part_number, "ETag": row.etag})
    return chosen


def _check_part_checksum(item: dict[str, Any], row: Any, upload_id: str) -> None:
    stored = _load(row.checksum)
    for algorithm in ALGORITHMS:
        given = item.get(f"Checksum{algorithm}")
        if given and (stored is None or stored["algorithm"] != algorithm or stored["value"] != given):
            raise InvalidPart(f"The {algorithm} you specified for part {row.part_number} did not match what we "
                              "received.", fields={"UploadId": upload_id, "PartNumber": row.part_number})


def _object_checksum(call: Call, bucket: Bucket, upload: Any, chosen: list[Any], data_key: bytes,
                     params: dict[str, Any]) -> dict[str, str] | None:
    """COMPOSITE: the checksum of the parts' checksums, ``-N``; FULL_OBJECT: computed over the whole object."""
    algorithm = upload.checksum_algorithm
    if not algorithm:
        return None
    if upload.checksum_type == "FULL_OBJECT":
        running = Checksum(algorithm)
        for piece in blobs.read_refs(io_.blob_root(call), data_key, [BlobRef(r.blob_id, r.size) for r in chosen],
                                     0, sum(r.size for r in chosen) - 1):
            running.update(piece)
        value = running.value()
        given = params.get(f"Checksum{algorithm}")
        if given and given != value:
            raise InvalidPart(f"The {algorithm} you specified did not match the calculated checksum.")
        return {"algorithm": algorithm, "value": value, "type": "FULL_OBJECT"}
    values = [(_load(r.checksum) or {}).get("value") for r in chosen]
    if not all(values):
        return None
    return {"algorithm": algorithm, "value": composite(algorithm, values), "type": "COMPOSITE"}  # type: ignore[arg-type]


@handler("s3", "CompleteMultipartUpload")
def complete_multipart_upload(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Make the listed parts one object; ETag = MD5 of the parts' MD5s, ``-N``."""
    bucket, upload, data_key, envelope = _upload_context(call, params)
    listed = (params.get("MultipartUpload") or {}).get("Parts") or []
    with call.gateway.db.read() as conn:
        chosen = _chosen_parts(conn, upload.upload_id, listed)
    checksum = _object_checksum(call, bucket, upload, chosen, data_key, params)
    etag = hashlib.md5(b"".join(bytes.fromhex(r.etag) for r in chosen), usedforsecurity=False).hexdigest()
    etag = f"{etag}-{len(chosen)}"
    refs = [BlobRef(r.blob_id, r.size) for r in chosen]
    acl = _load(upload.acl)
    owner = new_object_owner(call, bucket, acl, _arn_account(upload.initiator_arn))
    new = NewVersion(upload.key, sum(r.size for r in chosen), etag, owner, call.received_at, envelope,
                     refs, _load(upload.headers) or {}, _load(upload.metadata) or {}, checksum, upload.storage_class,
                     parts_count=len(chosen), acl=acl, tags=_load(upload.tags))
    from rampart.services.s3 import objects_store

    with call.gateway.db.session() as session:
        _upload(session, bucket.name, upload.key, upload.upload_id, lock=True)  # still there: not completed twice
        now = {r.part_number: r.blob_id for r in session.execute(
            select(s3_parts.c.part_number, s3_parts.c.blob_id).where(s3_parts.c.upload_id == upload.upload_id))}
        if any(now.get(r.part_number) != r.blob_id for r in chosen):  # a part was replaced meanwhile
            raise InvalidPart("One or more of the specified parts could not be found.  The part may not have been "
                              "uploaded, or the specified entity tag may not have matched the part's entity tag.",
                              fields={"UploadId": upload.upload_id})
        all_blobs = list(now.values())
        session.execute(delete(s3_parts).where(s3_parts.c.upload_id == upload.upload_id))
        session.execute(delete(s3_uploads).where(s3_uploads.c.upload_id == upload.upload_id))
        version_id, orphans = objects_store.write_version(session, bucket, new)
    used = {r.blob_id for r in chosen}
    blobs.delete_blobs(io_.blob_root(call), orphans + [b for b in all_blobs if b not in used])
    out: dict[str, Any] = {"Location": f"/{bucket.name}/{upload.key}", "Bucket": bucket.name, "Key": upload.key,
                           "ETag": io_.quoted(etag), **envelope.response_headers()}
    if checksum:
        out.update(io_.checksum_output(checksum))
    if bucket.versioning:
        out["VersionId"] = version_id
    return out


@handler("s3", "AbortMultipartUpload")
def abort_multipart_upload(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Drop an upload and its parts' files."""
    with call.gateway.db.session() as session:
        require_bucket(session, params["Bucket"])
        upload = _upload(session, params["Bucket"], params["Key"], params["UploadId"], lock=True)
        gone = [r.blob_id for r in session.execute(select(s3_parts).where(s3_parts.c.upload_id == upload.upload_id))]
        session.execute(delete(s3_parts).where(s3_parts.c.upload_id == upload.upload_id))
        session.execute(delete(s3_uploads).where(s3_uploads.c.upload_id == upload.upload_id))
    blobs.delete_blobs(io_.blob_root(call), gone)
    return {}


def _arn_account(arn: str | None) -> str | None:
    """The account of an initiator ARN (arn:aws:iam::123456789012:user/x, arn:aws:sts::...); None: anonymous."""
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() and len(parts[4]) == 12 else None


def _initiator(upload: Any, account_id: str) -> dict[str, str]:
    arn = upload.initiator_arn or f"arn:aws:iam::{account_id}:root"
    return {"ID": arn, "DisplayName": arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]}


def _non_negative(params: dict[str, Any], member: str, name: str, default: int) -> int:
    """A paging number (max-parts, part-number-marker, max-uploads): absent is ``default``, negative is refused."""
    value = params.get(member)
    if value is None:
        return default
    if value < 0:
        raise invalid_argument(f"Argument {name} must be an integer between 0 and 2147483647", name, value)
    return int(value)


@handler("s3", "ListParts")
def list_parts(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An upload's parts by number, paged by PartNumberMarker and MaxParts."""
    marker = _non_negative(params, "PartNumberMarker", "part-number-marker", 0)
    limit = min(_non_negative(params, "MaxParts", "max-parts", 1000), 1000)
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        upload = _upload(conn, bucket.name, params["Key"], params["UploadId"])
        t = s3_parts
        rows = conn.execute(select(t).where(t.c.upload_id == upload.upload_id, t.c.part_number > marker)
                            .order_by(t.c.part_number).limit(limit + 1)).all()
    truncated = len(rows) > limit
    rows = rows[:limit]
    parts = []
    for r in rows:
        part: dict[str, Any] = {"PartNumber": r.part_number, "LastModified": r.last_modified,
                                "ETag": io_.quoted(r.etag), "Size": r.size}
        checksum = _load(r.checksum)
        if checksum:
            part[f"Checksum{checksum['algorithm']}"] = checksum["value"]
        parts.append(part)
    out: dict[str, Any] = {
        "Bucket": bucket.name, "Key": upload.key, "UploadId": upload.upload_id, "PartNumberMarker": marker,
        "MaxParts": limit, "IsTruncated": truncated, "Parts": parts, "StorageClass": upload.storage_class,
        "Initiator": _initiator(upload, bucket.account_id), "Owner": owner_of(bucket.account_id),
    }
    if rows:
        out["NextPartNumberMarker"] = rows[-1].part_number
    if upload.checksum_algorithm:
        out["ChecksumAlgorithm"] = upload.checksum_algorithm
        out["ChecksumType"] = upload.checksum_type
    return out


@handler("s3", "ListMultipartUploads")
def list_multipart_uploads(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Uploads in progress by key then initiation, with Prefix, Delimiter, KeyMarker/UploadIdMarker paging."""
    prefix = params.get("Prefix") or ""
    delimiter = params.get("Delimiter") or ""
    key_marker = params.get("KeyMarker") or ""
    id_marker = params.get("UploadIdMarker") or ""
    limit = min(_non_negative(params, "MaxUploads", "max-uploads", 1000), 1000)
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        t = s3_uploads
        rows = conn.execute(select(t).where(t.c.bucket == bucket.name).order_by(t.c.key, t.c.initiated_at,
                                                                                 t.c.upload_id)).all()
    uploads: list[dict[str, Any]] = []
    prefixes: list[str] = []
    truncated = False
    last: Any = None
    for r in rows:
        if not r.key.startswith(prefix) or (r.key, r.upload_id if id_marker else "\uffff") <= (key_marker, id_marker):
            continue
        rolled = None
        if delimiter:
            at = r.key.find(delimiter, len(prefix))
            rolled = r.key[: at + len(delimiter)] if at >= 0 else None
        if rolled is not None and prefixes and prefixes[-1] == rolled:
            continue
        if len(uploads) + len(prefixes) >= limit:
            truncated = True
            break
        if rolled is not None:
            prefixes.append(rolled)
            continue
        last = r
        uploads.append({"UploadId": r.upload_id, "Key": r.key, "Initiated": r.initiated_at,
                        "StorageClass": r.storage_class, "Owner": owner_of(bucket.account_id),
                        "Initiator": _initiator(r, bucket.account_id)})
    out: dict[str, Any] = {"Bucket": bucket.name, "KeyMarker": key_marker, "UploadIdMarker": id_marker,
                           "Prefix": prefix, "MaxUploads": limit, "IsTruncated": truncated, "Uploads": uploads}
    if delimiter:
        out["Delimiter"] = delimiter
    if prefixes:
        out["CommonPrefixes"] = [{"Prefix": p} for p in prefixes]
    if truncated and last is not None:
        out["NextKeyMarker"] = last.key
        out["NextUploadIdMarker"] = last.upload_id
    return out
