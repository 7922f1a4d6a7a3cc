"""CloudTrail digest files: the hourly signed chain that makes log files tamper-evident.

For every trail with log file validation on, and every (account, region) it
delivers for (a multi-region trail: also every served region, ``chain_pairs``),
the digest job writes one digest per round covering
[previous digest end, now): the log files delivered in that window with the
SHA-256 of their inflated JSON, and the previous digest's location and
signature. A digest is written even for a window without log files, as AWS
does, so the chain shows the time was covered. Each digest is signed with the
region's key (``signing``) exactly as the AWS CLI's ``validate-logs``
verifies it, and put into the trail's bucket as cloudtrail.amazonaws.com,
through the bucket (and KMS key) policies like any delivery.

The chain state moves on only after the PUT succeeded: a failed round leaves
it, records LatestDigestDeliveryError, and the next round covers the longer
window, so no delivered log file is ever left out of the chain.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from rampart import jobs
from rampart.aws.errors import AwsError
from rampart.gateway.service_calls import ServicePrincipalRef, invoke_as_service
from rampart.services.cloudtrail import signing, trails
from rampart.services.cloudtrail.tables_delivery import ct_log_files
from rampart.services.cloudtrail.tables_digests import ct_digest_chains
from rampart.services.s3.store import get_bucket

log = logging.getLogger("rampart.cloudtrail.digests")

HASH_ALGORITHM = "SHA-256"
KEY_DATE = "%Y%m%dT%H%M%SZ"
JSON_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True, slots=True)
class Scope:
    """One chain: a trail's digests for one account and one region."""

    trail: trails.Trail
    account_id: str
    region: str
    org_id: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """Where the previous digest of a chain is and what the next must repeat of it."""

    bucket: str
    key: str
    signature: str
    hash_value: str
    end_time: dt.datetime


def json_time(moment: dt.datetime | None) -> str | None:
    """CloudTrail's timestamp spelling (whole seconds, Z)."""
    return None if moment is None else moment.astimezone(dt.UTC).strftime(JSON_TIME)


def digest_key(scope: Scope, end: dt.datetime) -> str:
    """The S3 key AWS uses, which the CLI lists by prefix and by the date in its last 24 characters."""
    trail, account, region = scope.trail, scope.account_id, scope.region
    base = f"AWSLogs/{scope.org_id}/{account}" if scope.org_id else f"AWSLogs/{account}"
    name = (f"{account}_CloudTrail-Digest_{region}_{trail.name}_{trail.home_region}_"
            f"{end.strftime(KEY_DATE)}.json.gz")
    key = f"{base}/CloudTrail-Digest/{region}/{end.strftime('%Y/%m/%d')}/{name}"
    return f"{trail.prefix}/{key}" if trail.prefix else key


def string_to_sign(end_time: str, bucket: str, key: str, inflated: bytes, previous_signature: str | None) -> bytes:
    """What CloudTrail signs: end time, bucket/key, SHA-256 of the inflated digest, previous signature."""
    digest_hash = hashlib.sha256(inflated).hexdigest()
    return f"{end_time}\n{bucket}/{key}\n{digest_hash}\n{previous_signature or 'null'}".encode()


def log_file_entry(row: Any) -> dict[str, Any]:
    """One ct_log_files row as a digest lists it."""
    return {
        "s3Bucket": row.bucket, "s3Object": row.s3_key, "hashValue": row.sha256, "hashAlgorithm": HASH_ALGORITHM,
        "newestEventTime": json_time(row.newest_event_time), "oldestEventTime": json_time(row.oldest_event_time),
    }


def digest_document(scope: Scope, bucket: str, key: str, start: dt.datetime, end: dt.datetime,
                    fingerprint: str, previous: Link | None, files: list[Any]) -> dict[str, Any]:
    """The digest's JSON, member for member as AWS documents it."""
    newest = max((row.newest_event_time for row in files), default=None)
    oldest = min((row.oldest_event_time for row in files), default=None)
    return {
        "awsAccountId": scope.account_id,
        "digestStartTime": json_time(start), "digestEndTime": json_time(end),
        "digestS3Bucket": bucket, "digestS3Object": key,
        "digestPublicKeyFingerprint": fingerprint,
        "digestSignatureAlgorithm": signing.SIGNATURE_ALGORITHM,
        "newestEventTime": json_time(newest), "oldestEventTime": json_time(oldest),
        "previousDigestS3Bucket": previous.bucket if previous else None,
        "previousDigestS3Object": previous.key if previous else None,
        "previousDigestHashValue": previous.hash_value if previous else None,
        "previousDigestHashAlgorithm": HASH_ALGORITHM if previous else None,
        "previousDigestSignature": previous.signature if previous else None,
        "logFiles": [log_file_entry(row) for row in files],
    }


@dataclass(frozen=True, slots=True)
class Signed:
    """A digest ready to put: its gzip bytes, metadata and the link the next digest will need."""

    body: bytes
    metadata: dict[str, str]
    link: Link


def make_digest(key_pair: signing.SigningKey, scope: Scope, bucket: str, start: dt.datetime, end: dt.datetime,
                previous: Link | None, files: list[Any]) -> Signed:
    """Build, hash and sign one digest (pure but for the signature's randomness-free RSA)."""
    key = digest_key(scope, end)
    document = digest_document(scope, bucket, key, start, end, key_pair.public.fingerprint, previous, files)
    inflated = json.dumps(document, separators=(",", ":")).encode()
    signature = key_pair.sign(string_to_sign(document["digestEndTime"], bucket, key, inflated,
                                             previous.signature if previous else None))
    metadata = {"signature": signature, "signature-algorithm": signing.SIGNATURE_ALGORITHM}
    link = Link(bucket, key, signature, hashlib.sha256(inflated).hexdigest(), end)
    return Signed(gzip.compress(inflated, mtime=0), metadata, link)


def chain_link(conn: Any, scope: Scope) -> Link | None:
    """The chain's last digest, or None before its first."""
    table = ct_digest_chains
    row = conn.execute(select(table).where(
        table.c.trail_arn == scope.trail.arn, table.c.account_id == scope.account_id,
        table.c.region == scope.region)).one_or_none()
    if row is None:
        return None
    return Link(row.bucket, row.s3_key, row.signature, row.hash_value, row.end_time)


def save_link(session: Any, scope: Scope, link: Link) -> None:
    """Move the chain on to the digest just put."""
    table = ct_digest_chains
    session.execute(delete(table).where(
        table.c.trail_arn == scope.trail.arn, table.c.account_id == scope.account_id,
        table.c.region == scope.region))
    session.execute(insert(table).values(
        trail_arn=scope.trail.arn, account_id=scope.account_id, region=scope.region, bucket=link.bucket,
        s3_key=link.key, signature=link.signature, hash_value=link.hash_value, end_time=link.end_time))


def delivered_files(conn: Any, scope: Scope, start: dt.datetime, end: dt.datetime) -> list[Any]:
    """The scope's log files delivered in [start, end), in delivery order."""
    table = ct_log_files
    return list(conn.execute(select(table).where(
        table.c.trail_arn == scope.trail.arn, table.c.account_id == scope.account_id,
        table.c.region == scope.region, table.c.delivered_at.is_not(None),
        table.c.delivered_at >= start, table.c.delivered_at < end,
    ).order_by(table.c.delivered_at, table.c.id)).all())


def chain_pairs(trail: Any, known: set[tuple[str, str]], served: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (account, region) chains a trail keeps, given those it delivered for or digested before.

    Its own account's home region always; a multi-region trail also every served region of
    each account it knows, log files or not, as AWS writes a digest for every region a trail
    covers each hour. The CLI checks one region (its ``--region``, else the home region), and
    finding no digest there is only meaningful when the chain was kept from the start.
    """
    pairs = known | {(trail.account_id, trail.home_region)}
    if trail.multi_region:
        pairs |= {(account, region) for account, _ in pairs for region in served}
    return sorted(pairs)


def served_regions(settings: Any) -> tuple[str, ...]:
    """The regions a multi-region trail keeps digests in (RAMPART_REGIONS, else the server's own region)."""
    return tuple(settings.regions) or (settings.region,)


def scopes_of(conn: Any, trail: Any, served: tuple[str, ...]) -> list[Scope]:
    """Every chain a trail keeps (``chain_pairs`` over what it delivered for and what it digested)."""
    files, chains = ct_log_files, ct_digest_chains
    known = {(r.account_id, r.region) for r in conn.execute(
        select(files.c.account_id, files.c.region).where(files.c.trail_arn == trail.arn).distinct())}
    known |= {(r.account_id, r.region) for r in conn.execute(
        select(chains.c.account_id, chains.c.region).where(chains.c.trail_arn == trail.arn))}
    org_id = trails.log_org_id(trail)
    return [Scope(trail, account, region, org_id) for account, region in chain_pairs(trail, known, served)]


def window_start(trail: Any, previous: Link | None) -> dt.datetime:
    """Where a digest's window starts: the previous digest's end, else when the trail started logging."""
    if previous is not None:
        return previous.end_time
    started = trail.logging_started_at or trail.created_at
    return started.astimezone(dt.UTC).replace(microsecond=0)


def _bucket_region(gateway: Any, bucket: str, default: str) -> str:
    with gateway.db.read() as conn:
        found = get_bucket(conn, bucket)
    return found.region if found is not None else default


def put_digest(gateway: Any, scope: Scope, signed: Signed) -> None:
    """PUT the digest as cloudtrail.amazonaws.com; raises the AwsError S3 (or KMS) answered."""
    trail = scope.trail
    params: dict[str, Any] = {
        "Bucket": signed.link.bucket, "Key": signed.link.key, "Body": signed.body,
        "ACL": "bucket-owner-full-control", "Metadata": signed.metadata,
    }
    if trail.kms_key_id:
        params |= {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": trail.kms_key_id}
    principal = ServicePrincipalRef("cloudtrail.amazonaws.com", source_arn=trail.arn,
                                    source_account=trail.account_id)
    invoke_as_service(gateway, principal, "s3", "PutObject", params,
                      region=_bucket_region(gateway, signed.link.bucket, trail.home_region),
                      account_id=trail.account_id)


def digest_scope(gateway: Any, scope: Scope, end: dt.datetime) -> dt.datetime | None:
    """Write the scope's next digest, ending at ``end``; its end time, or None when the window is empty."""
    with gateway.db.read() as conn:
        previous = chain_link(conn, scope)
        start = window_start(scope.trail, previous)
        if end <= start:
            return None
        files = delivered_files(conn, scope, start, end)
    with gateway.db.session() as session:
        key_pair = signing.signing_key(session, gateway.accounts.master_key, scope.region, end)
    signed = make_digest(key_pair, scope, scope.trail.bucket, start, end, previous, files)
    put_digest(gateway, scope, signed)
    with gateway.db.session() as session:
        save_link(session, scope, signed.link)
    return end


def digest_trail(gateway: Any, trail: Any, end: dt.datetime) -> None:
    """One round for one trail: every chain, then the trail's digest status."""
    with gateway.db.read() as conn:
        scopes = scopes_of(conn, trail, served_regions(gateway.settings))
    for scope in scopes:
        try:
            done = digest_scope(gateway, scope, end)
        except AwsError as error:
            log.warning("digest for %s (%s, %s) not delivered: %s", trail.arn, scope.account_id, scope.region,
                        error.code)
            with gateway.db.session() as session:
                trails.note_status(session, trail.arn, LatestDigestDeliveryError=error.code)
            continue
        if done is not None:
            with gateway.db.session() as session:
                trails.note_status(session, trail.arn, LatestDigestDeliveryTime=done, LatestDigestDeliveryError=None)


@jobs.job("cloudtrail.digests", lambda s: s.trail_digest_seconds)
def write_digests(gateway: Any, now: dt.datetime) -> None:
    """The digest round: every validating trail that logs (or still has log files being delivered)."""
    end = now.astimezone(dt.UTC).replace(microsecond=0)
    with gateway.db.read() as conn:
        chosen = [trail for trail in trails.all_trails(conn) if trail.validation and trail.logging]
    for trail in chosen:
        digest_trail(gateway, trail, end)
