"""Validate a trail's digest chain and log files, the same check as ``aws cloudtrail validate-logs``.

Walks the chain backwards from the newest digest in the range: each digest
must sit where it says it was written, carry a signature in its metadata that
the region's public key (by fingerprint) verifies over the string CloudTrail
signs, and link to its predecessor; each log file it lists must exist and
inflate to the SHA-256 it records. The walk reads objects through an
``ObjectSource`` and keys through a ``KeySource``: over Rampart's own store
(offline, the server need not run: ``rampart trail validate``) or over any
S3/CloudTrail clients (``Boto3Source``). Results use the CLI's wording.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from rampart.services.cloudtrail import signing
from rampart.services.cloudtrail.digests import KEY_DATE, string_to_sign

REQUIRED = ("digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object", "previousDigestSignature",
            "digestEndTime", "digestStartTime")
DISPLAY = "%Y-%m-%dT%H:%M:%SZ"


class ObjectSource(Protocol):
    """Where digests and log files are read from."""

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]] | None:
        """The object's bytes and user metadata, or None when there is no such key."""

    def list(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, in S3's (byte-wise) order."""


class KeySource(Protocol):
    """Where public keys are looked up by fingerprint."""

    def public_key(self, fingerprint: str, region: str) -> signing.PublicKey | None:
        """The region's key with this fingerprint, or None."""


@dataclass(frozen=True, slots=True)
class TrailTarget:
    """What a validation needs to know of the trail (from the trail itself or from the command line)."""

    name: str
    account_id: str
    home_region: str
    bucket: str
    prefix: str | None
    region: str  # the region whose digests are checked (the CLI's --region)
    org_id: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report: a digest, a log file, or a gap in the chain."""

    kind: str  # "digest" | "log" | "gap"
    bucket: str
    key: str
    status: str  # "valid" or "INVALID: ..." (gaps: their message)

    @property
    def valid(self) -> bool:
        """Gaps are reported but are not failures (the trail was not logging)."""
        return self.status == "valid" or self.kind == "gap"

    def line(self) -> str:
        """The CLI's spelling of this result."""
        if self.kind == "gap":
            return self.status
        label = "Digest file" if self.kind == "digest" else "Log file"
        return f"{label}\ts3://{self.bucket}/{self.key}\t{self.status}"


@dataclass(slots=True)
class Report:
    """All findings of one validation and the covered range."""

    start: dt.datetime
    end: dt.datetime
    findings: list[Finding] = field(default_factory=list)
    found_start: dt.datetime | None = None
    found_end: dt.datetime | None = None

    def count(self, kind: str, valid: bool) -> int:
        """How many digests or log files were (in)valid."""
        return sum(1 for f in self.findings if f.kind == kind and (f.status == "valid") == valid)

    @property
    def ok(self) -> bool:
        """True when nothing was invalid."""
        return all(f.valid for f in self.findings)

    def summary(self) -> str:
        """The CLI's closing lines."""
        lines = [f"Results requested for {_show(self.start)} to {_show(self.end)}"]
        if not any(f.kind in ("digest", "log") for f in self.findings):
            return "\n".join([*lines, "No digests found"])
        if self.found_start is None or self.found_end is None:
            lines.append("No valid digests found in range")
        else:
            lines.append(f"Results found for {_show(self.found_start)} to {_show(self.found_end)}:")
        for kind in ("digest", "log"):
            valid, invalid = self.count(kind, True), self.count(kind, False)
            total = valid + invalid
            if total:
                text = f"\n{valid}/{total} {kind} files valid"
                lines.append(text + (f", {invalid}/{total} {kind} files INVALID" if invalid else ""))
        return "\n".join(lines)


def _show(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(DISPLAY)


def _parse(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, DISPLAY).replace(tzinfo=dt.UTC)


class DigestInvalid(Exception):
    """A digest failed a check; the message is the CLI's status text."""


def digest_prefix(target: TrailTarget) -> str:
    """Where the region's digests of the account live."""
    base = f"AWSLogs/{target.org_id}/{target.account_id}" if target.org_id else f"AWSLogs/{target.account_id}"
    prefix = f"{base}/CloudTrail-Digest/{target.region}"
    return f"{target.prefix}/{prefix}" if target.prefix else prefix


def digest_key_pattern(target: TrailTarget) -> re.Pattern[str]:
    """Keys of this trail's digests (not another trail's in the same bucket)."""
    account, region = re.escape(target.account_id), re.escape(target.region)
    name = (rf"{account}_CloudTrail\-Digest_{region}_{re.escape(target.name)}_"
            rf"{re.escape(target.home_region)}_\d{{8}}T\d{{6}}Z\.json\.gz")
    return re.compile("^" + re.escape(digest_prefix(target)) + rf"/\d+/\d+/\d+/{name}$")


def key_date(key: str) -> dt.datetime:
    """The end time a digest key carries (the 16 characters before ``.json.gz``)."""
    return dt.datetime.strptime(key[-24:-8], KEY_DATE).replace(tzinfo=dt.UTC)


def digest_keys(source: ObjectSource, target: TrailTarget, start: dt.datetime, end: dt.datetime) -> list[str]:
    """The trail's digest keys dated in [start, end + 1 hour] (later digests list files of the range)."""
    pattern = digest_key_pattern(target)
    last = end + dt.timedelta(hours=1)
    return [key for key in source.list(target.bucket, digest_prefix(target) + "/")
            if pattern.match(key) and start <= key_date(key) <= last]


def check_digest(raw: bytes, metadata: dict[str, str], bucket: str, key: str,
                 keys: KeySource, target: TrailTarget) -> dict[str, Any]:
    """The digest's JSON when every check passes; raises DigestInvalid with the CLI's reason.

    A digest is signed with the key of the region it covers (the CLI asks ListPublicKeys
    of its ``--region``), but the CLI's message names the trail's home region.
    """
    try:
        inflated = zlib.decompress(raw, zlib.MAX_WBITS | 16)
        document = json.loads(inflated.decode())
    except (ValueError, zlib.error) as error:
        raise DigestInvalid("INVALID: invalid format") from error
    if "signature" not in metadata or "signature-algorithm" not in metadata:
        raise DigestInvalid("INVALID: signature verification failed")
    if not isinstance(document, dict) or any(name not in document for name in REQUIRED):
        raise DigestInvalid("INVALID: invalid format")
    if document["digestS3Bucket"] != bucket or document["digestS3Object"] != key:
        raise DigestInvalid("INVALID: has been moved from its original location")
    fingerprint = document["digestPublicKeyFingerprint"]
    public = keys.public_key(fingerprint, target.region)
    if public is None:
        raise DigestInvalid(f"INVALID: public key not found in region {target.home_region} "
                            f"for fingerprint {fingerprint}")
    message = string_to_sign(document["digestEndTime"], bucket, key, inflated, document["previousDigestSignature"])
    try:
        signature = binascii.unhexlify(metadata["signature"])
    except (binascii.Error, ValueError) as error:
        raise DigestInvalid("INVALID: signature verification failed") from error
    if not public.verify(signature, message):
        raise DigestInvalid("INVALID: signature verification failed")
    return document


def check_log(source: ObjectSource, entry: dict[str, Any]) -> str:
    """A listed log file's status: valid, not found, invalid format, or hash mismatch."""
    found = source.get(entry["s3Bucket"], entry["s3Object"])
    if found is None:
        return "INVALID: not found"
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(found[0]) + inflater.flush()
    except zlib.error:
        return "INVALID: invalid format"
    if inflater.unused_data:
        return "INVALID: unexpected data after end of compressed stream"
    if hashlib.sha256(data).hexdigest() != entry["hashValue"]:
        return "INVALID: hash value doesn't match"
    return "valid"


Progress = Callable[[Finding], None]


@dataclass(slots=True)
class _Walk:
    """The backwards walk over one chain."""

    source: ObjectSource
    keys: KeySource
    target: TrailTarget
    report: Report
    on_finding: Progress | None
    listed: list[str]

    def add(self, finding: Finding) -> None:
        self.report.findings.append(finding)
        if self.on_finding is not None:
            self.on_finding(finding)

    def next_listed(self, before: str | None) -> str | None:
        """The newest listed digest dated before ``before``'s date (the newest overall when None)."""
        limit = None if before is None else key_date(before)
        while self.listed:
            key = self.listed.pop()
            if limit is None or key_date(key) < limit:
                return key
        return None

    def run(self) -> None:
        bucket, key = self.target.bucket, self.next_listed(None)
        last_start = key_date(key) if key else None
        while key and last_start is not None and self.report.start <= last_start:
            found = self.source.get(bucket, key)
            if found is None:
                self.add(Finding("digest", bucket, key, "INVALID: not found"))
                key = self.next_listed(key)
                continue
            try:
                document = check_digest(found[0], found[1], bucket, key, self.keys, self.target)
            except DigestInvalid as error:
                self.add(Finding("digest", bucket, key, str(error)))
                key = self.next_listed(key)
                continue
            last_start = _parse(document["digestStartTime"])
            self.accept(bucket, key, document)
            bucket, key = self.follow(bucket, key, document, last_start)

    def accept(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        """A valid digest: record it, its range, and check its log files."""
        report = self.report
        start = max(_parse(document["digestStartTime"]), report.start)
        end = min(_parse(document["digestEndTime"]), report.end)
        report.found_start = start if report.found_start is None else min(report.found_start, start)
        report.found_end = end if report.found_end is None else max(report.found_end, end)
        self.add(Finding("digest", bucket, key, "valid"))
        for entry in document.get("logFiles") or []:
            self.add(Finding("log", entry["s3Bucket"], entry["s3Object"], check_log(self.source, entry)))

    def follow(self, bucket: str, key: str, document: dict[str, Any],
               last_start: dt.datetime) -> tuple[str, str | None]:
        """The previous digest by link, or (chain start) the next listed one, reporting the gap."""
        previous_bucket, previous_key = document.get("previousDigestS3Bucket"), document.get("previousDigestS3Object")
        if previous_bucket and previous_key:
            return previous_bucket, previous_key
        following = self.next_listed(key)
        if following is not None:
            self.add(Finding("gap", bucket, following,
                             f"No log files were delivered by CloudTrail between {_show(key_date(following))} "
                             f"and {_show(last_start)}"))
        return bucket, following


def validate(source: ObjectSource, keys: KeySource, target: TrailTarget, start: dt.datetime,
             end: dt.datetime, on_finding: Progress | None = None) -> Report:
    """Check the trail's chain for [start, end]; every finding is also passed to ``on_finding`` as it comes."""
    report = Report(start, end)
    listed = digest_keys(source, target, start, end)
    _Walk(source, keys, target, report, on_finding, listed).run()
    return report
