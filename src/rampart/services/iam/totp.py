"""Time-based one-time passwords (RFC 6238) as virtual MFA devices use them.

Pure: no storage, no clock of its own. A virtual MFA device is a random seed;
a code is HOTP (RFC 4226) of the seed over the 30-second time step. The
server checks codes against *its* clock (the movable one), searching a small
window of steps around it so a device a little ahead or behind still works,
and only accepts counters above the last one used so each code works once.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import os
import urllib.parse

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.hotp import HOTP

STEP_SECONDS = 30
DIGITS = 6
SEED_BYTES = 20  # 160 bits: RFC 4226's recommended length; 32 Base32 characters
ISSUER = "Amazon Web Services"

_ALGORITHMS = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA512": hashes.SHA512}


def new_seed() -> bytes:
    """A fresh random device seed (20 bytes, as AWS's virtual devices use)."""
    return os.urandom(SEED_BYTES)


def base32_seed(seed: bytes) -> str:
    """The seed as authenticator apps take it typed in: Base32 without padding."""
    return base64.b32encode(seed).decode("ascii").rstrip("=")


def counter_at(when: dt.datetime) -> int:
    """The RFC 6238 time step that contains ``when``."""
    return int(when.timestamp()) // STEP_SECONDS


def totp(seed: bytes, counter: int, *, digits: int = DIGITS, algorithm: str = "SHA1") -> str:
    """The code for one time step: HOTP of the seed over the step counter.

    The digits and the hash are parameters only so the RFC's own test vectors
    (8 digits, three hashes) can be checked; devices use 6 digits and SHA-1.
    """
    generator = HOTP(seed, digits, _ALGORITHMS[algorithm](), enforce_key_length=False)
    return generator.generate(counter).decode("ascii")


def _same(code: str, expected: str) -> bool:
    return hmac.compare_digest(code.encode("ascii", "replace"), expected.encode("ascii"))


def _candidates(center: int, window: int, after: int | None) -> list[int]:
    """Counters within ``window`` steps of ``center``, nearest first, above ``after``."""
    ordered = [center]
    for distance in range(1, window + 1):
        ordered += [center - distance, center + distance]
    return [c for c in ordered if c >= 0 and (after is None or c > after)]


def matching_counter(
    seed: bytes, code: str, when: dt.datetime, window: int, after: int | None, *, drift: int = 0
) -> int | None:
    """The step whose code is ``code``, searched near ``when``; None when no step matches.

    ``after`` is the device's last used counter: only later steps count, so a
    code cannot be replayed. ``drift`` shifts the search centre by the steps a
    resync measured between the device's clock and the server's.
    """
    if len(code) != DIGITS or not code.isdigit():
        return None
    for counter in _candidates(counter_at(when) + drift, window, after):
        if _same(code, totp(seed, counter)):
            return counter
    return None


def consecutive_counter(
    seed: bytes, first: str, second: str, when: dt.datetime, window: int, after: int | None
) -> int | None:
    """The step of ``second`` when ``first`` and ``second`` are codes of two consecutive steps.

    This is how IAM proves a new or drifted device is in sync (EnableMFADevice,
    ResyncMFADevice). Returns the later counter (the one now used up) or None.
    """
    if not all(len(c) == DIGITS and c.isdigit() for c in (first, second)):
        return None
    for counter in _candidates(counter_at(when), window, after):
        if _same(first, totp(seed, counter)) and _same(second, totp(seed, counter + 1)):
            return counter + 1
    return None


def otpauth_uri(seed: bytes, account_label: str, issuer: str = ISSUER) -> str:
    """The Key URI authenticator apps read from a QR code (Google's otpauth format)."""
    label = urllib.parse.quote(f"{issuer}:{account_label}", safe=":@")
    query = urllib.parse.urlencode({"secret": base32_seed(seed), "issuer": issuer})
    return f"otpauth://totp/{label}?{query}"
