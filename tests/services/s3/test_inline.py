"""Small objects inline on their version row: the threshold, every read path, copies, versions, tampering.

A body of one segment (up to 64 KiB) written by PutObject or CopyObject is
sealed in memory and stored in ``s3_objects.inline_data``; larger bodies and
multipart parts stay blob files. Both kinds are exercised side by side, and
the stored bytes are inspected (and damaged) through the server's database.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import select, update

from rampart.aws.errors import InternalFailure
from rampart.services.s3 import blobs
from rampart.services.s3.blobs import INLINE_MAX, MAGIC, SEGMENT, TAG, BlobRef
from rampart.services.s3.objects_sweep import sweep
from rampart.services.s3.tables import s3_objects
from rampart.storage.db import Database
from tests.conftest import Server, start_server
from tests.storage.pg import any_db_url, postgres_url  # noqa: F401 - fixtures

KEY = bytes(range(32))
SIZES = [0, 1, 4096, INLINE_MAX - 1, INLINE_MAX, INLINE_MAX + 1, 3 * SEGMENT + 5]


# --- the pure part: write_blob(inline=True) ---------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_threshold_and_every_range(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    md5 = hashlib.md5(usedforsecurity=False)
    pending = blobs.write_blob(tmp_path, KEY, io.BytesIO(data), [md5.update], inline=True)
    pending.commit()
    assert md5.hexdigest() == hashlib.md5(data, usedforsecurity=False).hexdigest()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    if size <= INLINE_MAX:
        assert pending.sealed is not None and not files
        assert pending.sealed.startswith(MAGIC) and len(pending.sealed) == len(MAGIC) + size + TAG
        assert data[:32] not in pending.sealed or size < 16  # sealed, not plain
    else:
        assert pending.sealed is None and files == [blobs.blob_path(tmp_path, pending.blob_id)]
    ref = pending.ref()
    assert blobs.read_all(tmp_path, KEY, [ref], 0, size - 1) == data
    for start, end in [(0, 0), (size // 3, size // 2), (size - 1, size - 1), (SEGMENT - 1, SEGMENT)]:
        if 0 <= start <= end < size:
            assert blobs.read_all(tmp_path, KEY, [ref], start, end) == data[start:end + 1]


def test_inline_sealed_bytes_are_the_blob_file_format(tmp_path: Path) -> None:
    """The same bytes written as a blob file read back the same: one format, only the place differs."""
    data = os.urandom(1000)
    pending = blobs.write_blob(tmp_path, KEY, io.BytesIO(data), inline=True)
    assert pending.sealed is not None
    path = blobs.blob_path(tmp_path, pending.blob_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(pending.sealed)
    assert blobs.read_all(tmp_path, KEY, [BlobRef(pending.blob_id, len(data))], 0, 999) == data


@pytest.mark.parametrize("damage", ["flip_body", "flip_tag", "truncate", "other_blob_id", "wrong_key", "append"])
def test_inline_tampering_is_detected(tmp_path: Path, damage: str) -> None:
    data = os.urandom(5000)
    pending = blobs.write_blob(tmp_path, KEY, io.BytesIO(data), inline=True)
    assert pending.sealed is not None
    raw, blob_id, key = bytearray(pending.sealed), pending.blob_id, KEY
    if damage == "flip_body":
        raw[len(MAGIC) + 7] ^= 1
    elif damage == "flip_tag":
        raw[-1] ^= 0x80
    elif damage == "truncate":
        raw = raw[:-1]
    elif damage == "other_blob_id":
        blob_id = blobs.write_blob(tmp_path, KEY, io.BytesIO(b"x"), inline=True).blob_id
    elif damage == "wrong_key":
        key = bytes(32)
    else:
        raw += b"\0" * 16
    ref = BlobRef(blob_id, len(data), bytes(raw))
    with pytest.raises(InternalFailure):
        blobs.read_all(tmp_path, key, [ref], 0, len(data) - 1)
    if damage != "append":  # a range read authenticates the whole segment too
        with pytest.raises(InternalFailure):
            blobs.read_all(tmp_path, key, [ref], 10, 20)


def test_without_inline_small_bodies_stay_files(tmp_path: Path) -> None:
    pending = blobs.write_blob(tmp_path, KEY, io.BytesIO(b"part"))
    assert pending.sealed is None and pending.temp is not None and pending.temp.exists()
    pending.abort()


# --- through the server ---------------------------------------------------------------------------------------

@pytest.fixture
def db(server: Server) -> Iterator[Database]:
    """The server's own database (SQLite in its data directory)."""
    found = Database(f"sqlite:///{server.data_dir / 'rampart.db'}")
    yield found
    found.dispose()


def _row(db: Database, bucket: str, key: str, version_id: str | None = None) -> Any:
    t = s3_objects
    where = [t.c.bucket == bucket, t.c.key == key]
    where.append(t.c.version_id == version_id if version_id else t.c.is_latest.is_(True))
    with db.read() as conn:
        return conn.execute(select(t.c.blobs, t.c.inline_data, t.c.id).where(*where)).one()


def _blob_files(server: Server, row: Any) -> list[Path]:
    """The blob files a row names that exist on disk."""
    root = blobs.blob_root(server.data_dir)
    return [blobs.blob_path(root, b) for b, _ in orjson.loads(row.blobs) if blobs.blob_path(root, b).exists()]


@pytest.mark.parametrize("size", SIZES)
def test_put_get_ranges_and_storage_kind(server: Server, s3: Any, bucket: str, db: Database, size: int) -> None:
    data = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key=f"k{size}", Body=data)
    row = _row(db, bucket, f"k{size}")
    if size <= INLINE_MAX:
        assert row.inline_data is not None and _blob_files(server, row) == []
    else:
        assert row.inline_data is None and len(_blob_files(server, row)) == 1
    got = s3.get_object(Bucket=bucket, Key=f"k{size}")
    assert got["Body"].read() == data and got["ETag"] == put["ETag"]
    assert got["ETag"].strip('"') == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert s3.head_object(Bucket=bucket, Key=f"k{size}")["ContentLength"] == size
    if size:
        for first, last in [(0, 0), (size // 2, size - 1), (max(0, size - 3), size + 100)]:
            ranged = s3.get_object(Bucket=bucket, Key=f"k{size}", Range=f"bytes={first}-{last}")
            assert ranged["Body"].read() == data[first:last + 1]
        suffix = s3.get_object(Bucket=bucket, Key=f"k{size}", Range="bytes=-2")["Body"].read()
        assert suffix == data[-2:]


def test_listing_shows_inline_and_file_objects(s3: Any, bucket: str) -> None:
    sizes = {"a-inline": 10, "b-file": INLINE_MAX + 1, "c-inline": INLINE_MAX}
    for key, size in sizes.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"z" * size)
    listed = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == sizes


@pytest.mark.parametrize("tamper", ["flip", "swap_rows"])
def test_tampering_with_the_stored_ciphertext_is_detected(server: Server, s3: Any, bucket: str, db: Database,
                                                         tamper: str) -> None:
    s3.put_object(Bucket=bucket, Key="victim", Body=b"v" * 3000)
    s3.put_object(Bucket=bucket, Key="donor", Body=b"d" * 3000)
    victim, donor = _row(db, bucket, "victim"), _row(db, bucket, "donor")
    damaged = bytearray(victim.inline_data)
    damaged[len(MAGIC) + 100] ^= 1
    replacement = bytes(damaged) if tamper == "flip" else bytes(donor.inline_data)
    with db.session() as session:
        session.execute(update(s3_objects).where(s3_objects.c.id == victim.id).values(inline_data=replacement))
    for extra in ({}, {"Range": "bytes=5-10"}):
        with pytest.raises(ClientError) as caught:
            s3.get_object(Bucket=bucket, Key="victim", **extra)["Body"].read()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert caught.value.response["Error"]["Code"] == "InternalFailure"  # the shared error (S3 says InternalError)
    assert s3.get_object(Bucket=bucket, Key="donor")["Body"].read() == b"d" * 3000


def test_existing_file_object_of_small_size_keeps_working(server: Server, s3: Any, bucket: str,
                                                          db: Database) -> None:
    """An object written before migration 0010 (bytes in a blob file, column empty) is read and deleted as before."""
    s3.put_object(Bucket=bucket, Key="old", Body=b"written before inline storage")
    row = _row(db, bucket, "old")
    [[blob_id, _]] = orjson.loads(row.blobs)
    path = blobs.blob_path(blobs.blob_root(server.data_dir), blob_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(row.inline_data)  # the same format, moved to where a file blob lives
    with db.session() as session:
        session.execute(update(s3_objects).where(s3_objects.c.id == row.id).values(inline_data=None))
    assert s3.get_object(Bucket=bucket, Key="old", Range="bytes=8-13")["Body"].read() == b"before"
    s3.put_object(Bucket=bucket, Key="old", Body=b"now inline")  # the overwrite orphans the file: removed
    assert not path.exists()
    assert _row(db, bucket, "old").inline_data is not None
    assert s3.get_object(Bucket=bucket, Key="old")["Body"].read() == b"now inline"


def test_overwrites_between_kinds_remove_only_orphaned_files(server: Server, s3: Any, bucket: str,
                                                             db: Database) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"f" * (INLINE_MAX + 1))
    [big_file] = _blob_files(server, _row(db, bucket, "k"))
    s3.put_object(Bucket=bucket, Key="k", Body=b"small")
    assert not big_file.exists()
    s3.put_object(Bucket=bucket, Key="k", Body=b"g" * (INLINE_MAX + 1))
    assert len(_blob_files(server, _row(db, bucket, "k"))) == 1
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"g" * (INLINE_MAX + 1)
    s3.delete_object(Bucket=bucket, Key="k")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_copies_between_kinds(server: Server, s3: Any, bucket: str, db: Database) -> None:
    small, big = os.urandom(INLINE_MAX), os.urandom(INLINE_MAX + 1)
    s3.put_object(Bucket=bucket, Key="small", Body=small)
    s3.put_object(Bucket=bucket, Key="big", Body=big)
    s3.copy_object(Bucket=bucket, Key="small-copy", CopySource={"Bucket": bucket, "Key": "small"})
    s3.copy_object(Bucket=bucket, Key="big-copy", CopySource={"Bucket": bucket, "Key": "big"})
    copied = _row(db, bucket, "small-copy")
    assert copied.inline_data is not None and copied.inline_data != _row(db, bucket, "small").inline_data
    assert _row(db, bucket, "big-copy").inline_data is None
    assert s3.get_object(Bucket=bucket, Key="small-copy")["Body"].read() == small
    assert s3.get_object(Bucket=bucket, Key="big-copy")["Body"].read() == big


def test_upload_part_copy_from_an_inline_object(server: Server, s3: Any, bucket: str, db: Database) -> None:
    small = os.urandom(40_000)
    s3.put_object(Bucket=bucket, Key="src", Body=small)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    part1 = s3.upload_part(Bucket=bucket, Key="assembled", UploadId=upload, PartNumber=1, Body=b"p" * (5 << 20))
    part2 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=upload, PartNumber=2,
                                CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=100-29999")
    s3.complete_multipart_upload(Bucket=bucket, Key="assembled", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": part1["ETag"]}, {"PartNumber": 2, "ETag": part2["CopyPartResult"]["ETag"]}]})
    row = _row(db, bucket, "assembled")
    assert row.inline_data is None and len(_blob_files(server, row)) == 2  # parts stay files
    tail = s3.get_object(Bucket=bucket, Key="assembled", Range=f"bytes={5 << 20}-")["Body"].read()
    assert tail == small[100:30000]


def test_small_multipart_object_is_files_and_deletes_them(server: Server, s3: Any, bucket: str,
                                                          db: Database) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"tiny part")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    row = _row(db, bucket, "mp")
    [path] = _blob_files(server, row)
    assert row.inline_data is None
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"tiny part"
    s3.delete_object(Bucket=bucket, Key="mp")
    assert not path.exists()


def test_versions_of_both_kinds(server: Server, s3: Any, bucket: str, db: Database) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    bodies = [b"one", b"x" * (INLINE_MAX + 1), b"three"]
    ids = [s3.put_object(Bucket=bucket, Key="v", Body=b)["VersionId"] for b in bodies]
    rows = [_row(db, bucket, "v", v) for v in ids]
    assert [r.inline_data is not None for r in rows] == [True, False, True]
    [file_path] = _blob_files(server, rows[1])
    for version_id, body in zip(ids, bodies, strict=True):
        assert s3.get_object(Bucket=bucket, Key="v", VersionId=version_id)["Body"].read() == body
    s3.delete_object(Bucket=bucket, Key="v")  # a delete marker: every version stays
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=ids[0])["Body"].read() == b"one"
    s3.copy_object(Bucket=bucket, Key="restored", CopySource={"Bucket": bucket, "Key": "v", "VersionId": ids[0]})
    assert s3.get_object(Bucket=bucket, Key="restored")["Body"].read() == b"one"
    s3.delete_object(Bucket=bucket, Key="v", VersionId=ids[1])
    assert not file_path.exists()
    s3.delete_object(Bucket=bucket, Key="v", VersionId=ids[2])
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=ids[0])["Body"].read() == b"one"
    listed = s3.list_object_versions(Bucket=bucket, Prefix="v")
    assert [v["VersionId"] for v in listed["Versions"]] == [ids[0]]


def test_sweep_keeps_inline_and_file_objects(server: Server, s3: Any, bucket: str, db: Database) -> None:
    s3.put_object(Bucket=bucket, Key="in", Body=b"inline body")
    s3.put_object(Bucket=bucket, Key="out", Body=b"o" * (INLINE_MAX + 1))
    with db.read() as conn:
        sweep(server.data_dir, conn, now_s=4e9)  # far in the future: every unreferenced file counts as old
    assert s3.get_object(Bucket=bucket, Key="in")["Body"].read() == b"inline body"
    assert s3.get_object(Bucket=bucket, Key="out")["Body"].read() == b"o" * (INLINE_MAX + 1)


def test_both_kinds_on_each_database(any_db_url: str, tmp_path: Path) -> None:  # noqa: F811
    """The column round-trips bytes on SQLite and PostgreSQL (BYTEA): writes, overwrites, ranges, copies, deletes."""
    running = start_server(tmp_path / "data", args=["--database-url", any_db_url])
    try:
        s3 = running.client("s3", config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
        bucket = f"inline-{os.urandom(8).hex()}"
        s3.create_bucket(Bucket=bucket)
        small, big = os.urandom(INLINE_MAX), os.urandom(INLINE_MAX + 1)
        s3.put_object(Bucket=bucket, Key="k", Body=big)
        s3.put_object(Bucket=bucket, Key="k", Body=small)  # file -> inline: the file goes
        s3.put_object(Bucket=bucket, Key="k", Body=small[:10])  # inline -> inline
        s3.copy_object(Bucket=bucket, Key="c", CopySource={"Bucket": bucket, "Key": "k"})
        assert s3.get_object(Bucket=bucket, Key="c", Range="bytes=2-5")["Body"].read() == small[2:6]
        s3.put_object(Bucket=bucket, Key="b", Body=big)
        assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == big
        root = blobs.blob_root(running.data_dir)
        assert len([p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]) == 1  # only "b"
        for key in ("k", "c", "b"):
            s3.delete_object(Bucket=bucket, Key=key)
        assert not [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]
        s3.delete_bucket(Bucket=bucket)
    finally:
        running.stop()
