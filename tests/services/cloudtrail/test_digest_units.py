"""Digest building, signing and the offline validator, without a server.

The AWS CLI's own verifier (``Sha256RSADigestValidator``) is the arbiter of
the signature format; the tampering cases check ``validate`` reports exactly
the file that was changed, in the CLI's words.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from awscli.customizations.cloudtrail.validation import Sha256RSADigestValidator
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from rampart.services.cloudtrail import digests, signing
from rampart.services.cloudtrail.validate import (
    TrailTarget,
    digest_key_pattern,
    validate,
)

T0 = dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def new_key(start: dt.datetime = T0) -> signing.SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    public = signing.PublicKey(signing.fingerprint_of(der), "us-east-1", der, start, start + signing.ROTATE_AFTER)
    return signing.SigningKey(public, private)


@dataclass(frozen=True)
class FakeTrail:
    arn: str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit"
    name: str = "audit"
    account_id: str = "111122223333"
    home_region: str = "us-east-1"
    bucket: str = "logs"
    prefix: str | None = "p"
    organization: bool = False
    logging_started_at: dt.datetime | None = T0
    created_at: dt.datetime = T0


@dataclass(frozen=True)
class Row:
    bucket: str
    s3_key: str
    sha256: str
    newest_event_time: dt.datetime
    oldest_event_time: dt.datetime


class Store:
    """An in-memory bucket: the ObjectSource and KeySource of these tests."""

    def __init__(self, *keys: signing.SigningKey) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, dict[str, str]]] = {}
        self.keys = {k.public.fingerprint: k.public for k in keys}

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]] | None:
        return self.objects.get((bucket, key))

    def list(self, bucket: str, prefix: str) -> Iterator[str]:
        return iter(sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix)))

    def public_key(self, fingerprint: str, region: str) -> signing.PublicKey | None:
        return self.keys.get(fingerprint)


def log_file(store: Store, name: str, when: dt.datetime) -> Row:
    inflated = json.dumps({"Records": [{"eventID": name}]}).encode()
    key = f"p/AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/{name}.json.gz"
    store.objects[("logs", key)] = (gzip.compress(inflated), {})
    return Row("logs", key, hashlib.sha256(inflated).hexdigest(), when, when)


SCOPE = digests.Scope(FakeTrail(), "111122223333", "us-east-1")  # type: ignore[arg-type]
TARGET = TrailTarget("audit", "111122223333", "us-east-1", "logs", "p", "us-east-1")


def build_chain(store: Store, key_pair: signing.SigningKey, hours: int, files_per_hour: int = 1) -> list[str]:
    """``hours`` digests, each listing ``files_per_hour`` log files; returns the digest keys."""
    previous, keys = None, []
    for hour in range(hours):
        start, end = T0 + hour * HOUR, T0 + (hour + 1) * HOUR
        rows = [log_file(store, f"h{hour}f{i}", start + dt.timedelta(minutes=i + 1)) for i in range(files_per_hour)]
        signed = digests.make_digest(key_pair, SCOPE, "logs", start, end, previous, rows)
        store.objects[("logs", signed.link.key)] = (signed.body, signed.metadata)
        previous = signed.link
        keys.append(signed.link.key)
    return keys


def run(store: Store) -> Any:
    return validate(store, store, TARGET, T0, T0 + 10 * HOUR)


def statuses(report: Any) -> dict[str, str]:
    return {f.key: f.status for f in report.findings if f.kind != "gap"}


def test_the_aws_cli_verifies_our_signature() -> None:
    key_pair = new_key()
    store = Store(key_pair)
    [key] = build_chain(store, key_pair, 1)
    body, metadata = store.objects[("logs", key)]
    inflated = gzip.decompress(body)
    data = json.loads(inflated) | {"_signature": metadata["signature"]}
    # The CLI base64-decodes the blob botocore returns, then loads PKCS#1 DER with the rsa package.
    Sha256RSADigestValidator().validate("logs", key, base64.b64encode(key_pair.public.der), data, inflated)


def test_digest_document_and_key_follow_the_documented_layout() -> None:
    key_pair = new_key()
    store = Store(key_pair)
    keys = build_chain(store, key_pair, 2)
    assert keys[1] == ("p/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/01/"
                       "111122223333_CloudTrail-Digest_us-east-1_audit_us-east-1_20260301T120000Z.json.gz")
    assert digest_key_pattern(TARGET).match(keys[1])
    first = json.loads(gzip.decompress(store.objects[("logs", keys[0])][0]))
    second = json.loads(gzip.decompress(store.objects[("logs", keys[1])][0]))
    assert first["previousDigestSignature"] is None and first["previousDigestS3Object"] is None
    assert second["previousDigestS3Object"] == keys[0]
    assert second["previousDigestSignature"] == store.objects[("logs", keys[0])][1]["signature"]
    assert second["previousDigestHashValue"] == hashlib.sha256(gzip.decompress(store.objects[("logs", keys[0])][0])).hexdigest()
    assert second["digestStartTime"] == "2026-03-01T11:00:00Z" and second["digestEndTime"] == "2026-03-01T12:00:00Z"
    assert second["digestSignatureAlgorithm"] == "SHA256withRSA"
    assert second["digestPublicKeyFingerprint"] == key_pair.public.fingerprint
    assert second["logFiles"][0]["hashAlgorithm"] == "SHA-256"
    assert len(key_pair.public.fingerprint) == 32


def test_an_untouched_chain_is_valid() -> None:
    key_pair = new_key()
    store = Store(key_pair)
    keys = build_chain(store, key_pair, 3, files_per_hour=2)
    report = run(store)
    assert report.ok
    assert report.count("digest", True) == 3 and report.count("log", True) == 6
    assert set(statuses(report)) >= set(keys)
    assert "3/3 digest files valid" in report.summary() and "6/6 log files valid" in report.summary()


def test_hours_without_logs_keep_the_chain() -> None:
    key_pair = new_key()
    store = Store(key_pair)
    build_chain(store, key_pair, 5, files_per_hour=0)
    report = run(store)
    assert report.ok and report.count("digest", True) == 5
    assert not [f for f in report.findings if f.kind == "gap"]


def _tamper_log(store: Store, keys: list[str]) -> str:
    key = "p/AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/h1f0.json.gz"
    store.objects[("logs", key)] = (gzip.compress(b'{"Records":[]}'), {})
    return key


def _delete_log(store: Store, keys: list[str]) -> str:
    key = "p/AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/h1f0.json.gz"
    del store.objects[("logs", key)]
    return key


def _tamper_digest(store: Store, keys: list[str]) -> str:
    body, metadata = store.objects[("logs", keys[1])]
    document = json.loads(gzip.decompress(body))
    document["logFiles"] = []
    store.objects[("logs", keys[1])] = (gzip.compress(json.dumps(document).encode()), metadata)
    return keys[1]


def _delete_digest(store: Store, keys: list[str]) -> str:
    del store.objects[("logs", keys[1])]
    return keys[1]


def _forge_digest(store: Store, keys: list[str]) -> str:
    """Re-sign the middle digest with another key that claims our fingerprint."""
    body, _ = store.objects[("logs", keys[1])]
    inflated = gzip.decompress(body)
    document = json.loads(inflated)
    message = digests.string_to_sign(document["digestEndTime"], "logs", keys[1], inflated,
                                      document["previousDigestSignature"])
    store.objects[("logs", keys[1])] = (body, {"signature": new_key().sign(message), "signature-algorithm": "SHA256withRSA"})
    return keys[1]


@pytest.mark.parametrize(("tamper", "expected"), [
    (_tamper_log, "INVALID: hash value doesn't match"),
    (_delete_log, "INVALID: not found"),
    (_tamper_digest, "INVALID: signature verification failed"),
    (_delete_digest, "INVALID: not found"),
    (_forge_digest, "INVALID: signature verification failed"),
])
def test_tampering_is_reported_on_exactly_that_file(tamper: Any, expected: str) -> None:
    key_pair = new_key()
    store = Store(key_pair)
    keys = build_chain(store, key_pair, 3)
    changed = tamper(store, keys)
    report = run(store)
    assert not report.ok
    invalid = {key: status for key, status in statuses(report).items() if status != "valid"}
    assert invalid == {changed: expected}


def test_a_digest_signed_with_an_unknown_key_is_reported() -> None:
    key_pair = new_key()
    store = Store(key_pair)
    build_chain(store, key_pair, 2)
    other = new_key()
    signed = digests.make_digest(other, SCOPE, "logs", T0 + 2 * HOUR, T0 + 3 * HOUR, None, [])
    store.objects[("logs", signed.link.key)] = (signed.body, signed.metadata)
    report = run(store)
    invalid = [f for f in report.findings if f.status.startswith("INVALID")]
    assert [f.key for f in invalid] == [signed.link.key]
    assert "public key not found" in invalid[0].status


def test_public_key_verify_rejects_other_messages() -> None:
    key_pair = new_key()
    signature = bytes.fromhex(key_pair.sign(b"message"))
    assert key_pair.public.verify(signature, b"message")
    assert not key_pair.public.verify(signature, b"other")
    assert not replace(key_pair.public, der=b"junk").verify(signature, b"message")


def test_keys_rotate_and_old_ones_stay_listed(tmp_path: Any) -> None:
    import os

    from rampart.secrets import MasterKey
    from rampart.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'keys.db'}")
    db.migrate()
    master = MasterKey(os.urandom(32))
    try:
        with db.session() as session:
            first = signing.signing_key(session, master, "us-east-1", T0)
            again = signing.signing_key(session, master, "us-east-1", T0 + HOUR)
            later = signing.signing_key(session, master, "us-east-1", T0 + signing.ROTATE_AFTER + HOUR)
        assert again.public.fingerprint == first.public.fingerprint
        assert later.public.fingerprint != first.public.fingerprint
        assert later.public.valid_from == first.public.valid_until  # no hole between keys
        with db.read() as conn:
            listed = signing.public_keys(conn, "us-east-1", T0, T0 + 2 * signing.ROTATE_AFTER)
            assert [k.fingerprint for k in listed] == [first.public.fingerprint, later.public.fingerprint]
            assert signing.public_keys(conn, "eu-west-1", T0, T0 + HOUR) == []
        signature = bytes.fromhex(first.sign(b"x"))
        assert listed[0].verify(signature, b"x") and not listed[1].verify(signature, b"x")
    finally:
        db.dispose()
