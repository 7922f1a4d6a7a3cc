"""CloudTrail's digest signing keys and ListPublicKeys.

AWS signs each region's digests with a private key unique to the region and
publishes the public halves through ListPublicKeys, each with the validity
range in which it signed. Here a region's key pair is RSA 2048, made when the
region first needs one and replaced every ``ROTATE_AFTER`` by Rampart's clock;
retired keys stay (public and sealed private halves) so old digests keep
validating. The private key exists in clear only in memory, while signing.

Wire forms, as the AWS CLI's ``validate-logs`` reads them: ``Value`` is the
PKCS#1 DER public key as a blob (base64 once on the wire: the CLI keeps blobs
as their wire text, base64-decodes it and loads PKCS#1 DER; boto3 hands out
the DER bytes), ``Fingerprint`` the hex MD5 of that DER, the same string
digests carry in ``digestPublicKeyFingerprint``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import and_, insert, select

from rampart.gateway import registry
from rampart.gateway.call import Call
from rampart.services.cloudtrail.errors import (
    InvalidTimeRangeException,
    InvalidTokenException,
)
from rampart.services.cloudtrail.tables_digests import ct_signing_keys

ROTATE_AFTER = dt.timedelta(days=30)
KEY_BITS = 2048
SIGNATURE_ALGORITHM = "SHA256withRSA"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One region's public key and the range in which its private half signed."""

    fingerprint: str
    region: str
    der: bytes  # PKCS#1 RSAPublicKey
    valid_from: dt.datetime
    valid_until: dt.datetime

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's SHA256withRSA (PKCS#1 v1.5) signature of ``message``."""
        try:
            loaded = serialization.load_der_public_key(self.der)  # reads PKCS#1 DER as well as SPKI
        except ValueError:
            return False
        if not isinstance(loaded, rsa.RSAPublicKey):
            return False
        try:
            loaded.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A region's current key pair, opened for signing."""

    public: PublicKey
    private: rsa.RSAPrivateKey

    def sign(self, message: bytes) -> str:
        """The hex SHA256withRSA signature of ``message``, as digests' metadata carries it."""
        return self.private.sign(message, padding.PKCS1v15(), hashes.SHA256()).hex()


def fingerprint_of(public_der: bytes) -> str:
    """AWS's key fingerprint: 32 hex digits (MD5 of the DER public key; an identifier, not a security check)."""
    return hashlib.md5(public_der, usedforsecurity=False).hexdigest()


def _aad(region: str, fingerprint: str) -> bytes:
    """Binds a sealed private key to its row: copied to another region or key, it does not open."""
    return f"cloudtrail-signing-key/{region}/{fingerprint}".encode()


def _public_of(row: Any) -> PublicKey:
    return PublicKey(row.fingerprint, row.region, bytes(row.public_der), row.valid_from, row.valid_until)


def _create(session: Any, master: Any, region: str, valid_from: dt.datetime) -> Any:
    """A fresh key pair for ``region``, valid from ``valid_from`` for ROTATE_AFTER."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    public_der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    fingerprint = fingerprint_of(public_der)
    private_der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    values = {
        "fingerprint": fingerprint, "region": region, "public_der": public_der,
        "private_sealed": master.encrypt(private_der, _aad(region, fingerprint)),
        "valid_from": valid_from, "valid_until": valid_from + ROTATE_AFTER,
    }
    session.execute(insert(ct_signing_keys).values(**values))
    return session.execute(select(ct_signing_keys).where(ct_signing_keys.c.fingerprint == fingerprint)).one()


def _current_row(conn: Any, region: str, now: dt.datetime) -> Any | None:
    """The newest key of ``region`` valid at ``now`` (ties: the greatest fingerprint, the same in every process)."""
    table = ct_signing_keys
    return conn.execute(
        select(table)
        .where(table.c.region == region, table.c.valid_from <= now, table.c.valid_until > now)
        .order_by(table.c.valid_from.desc(), table.c.fingerprint.desc())
        .limit(1)
    ).one_or_none()


def ensure_current(session: Any, master: Any, region: str, now: dt.datetime) -> Any:
    """The region's key valid now, made (or rotated) first when there is none."""
    row = _current_row(session, region, now)
    if row is not None:
        return row
    table = ct_signing_keys
    last = session.execute(
        select(table.c.valid_until).where(table.c.region == region).order_by(table.c.valid_until.desc()).limit(1)
    ).scalar_one_or_none()
    # A rotation continues the previous range without a hole; after a long idle period it starts now.
    start = last if last is not None and last <= now and now - last < ROTATE_AFTER else now
    return _create(session, master, region, start)


def signing_key(session: Any, master: Any, region: str, now: dt.datetime) -> SigningKey:
    """The region's current key pair, private half unsealed for this round of signing."""
    row = ensure_current(session, master, region, now)
    private_der = master.decrypt(bytes(row.private_sealed), _aad(row.region, row.fingerprint))
    private = serialization.load_der_private_key(private_der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    return SigningKey(_public_of(row), private)


def public_keys(conn: Any, region: str, start: dt.datetime, end: dt.datetime) -> list[PublicKey]:
    """The region's keys whose validity range meets [start, end], oldest first."""
    table = ct_signing_keys
    rows = conn.execute(
        select(table)
        .where(and_(table.c.region == region, table.c.valid_from <= end, table.c.valid_until >= start))
        .order_by(table.c.valid_from, table.c.fingerprint)
    ).all()
    return [_public_of(row) for row in rows]


def public_key(conn: Any, fingerprint: str) -> PublicKey | None:
    """One key by fingerprint, any region (offline validation looks keys up this way)."""
    row = conn.execute(select(ct_signing_keys).where(ct_signing_keys.c.fingerprint == fingerprint)).one_or_none()
    return None if row is None else _public_of(row)


def _as_utc(value: Any, default: dt.datetime) -> dt.datetime:
    if value is None:
        return default
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


@registry.handler("cloudtrail", "ListPublicKeys")
def list_public_keys(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The call's region's public keys for the range (default: now, i.e. the current key)."""
    if params.get("NextToken"):
        raise InvalidTokenException("Reserved for future use.")
    now = call.received_at
    start = _as_utc(params.get("StartTime"), now)
    end = _as_utc(params.get("EndTime"), now)
    if start > end:
        raise InvalidTimeRangeException("Start time occurs after end time.")
    with call.gateway.db.read() as conn:
        current = _current_row(conn, call.region, now)
    if current is None:  # AWS always has a current key; ours is made on first need
        with call.gateway.db.session() as session:
            ensure_current(session, call.gateway.accounts.master_key, call.region, now)
    with call.gateway.db.read() as conn:
        found = public_keys(conn, call.region, start, end)
    return {"PublicKeyList": [
        {"Value": key.der, "ValidityStartTime": key.valid_from,
         "ValidityEndTime": key.valid_until, "Fingerprint": key.fingerprint}
        for key in found
    ]}
