"""TOTP (RFC 6238) as virtual MFA devices use it: the RFC's vectors, windows, replay."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rampart.services.iam import totp

SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}

# RFC 6238 Appendix B: (Unix time, algorithm, 8-digit code).
RFC_6238_VECTORS = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]


def at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


@pytest.mark.parametrize(("seconds", "algorithm", "expected"), RFC_6238_VECTORS)
def test_rfc_6238_vectors(seconds: int, algorithm: str, expected: str) -> None:
    counter = totp.counter_at(at(seconds))
    assert totp.totp(SEEDS[algorithm], counter, digits=8, algorithm=algorithm) == expected


@pytest.mark.parametrize(("seconds", "algorithm", "expected"), [v for v in RFC_6238_VECTORS if v[1] == "SHA1"])
def test_six_digit_codes_are_the_last_six_digits(seconds: int, algorithm: str, expected: str) -> None:
    # HOTP truncation is "value mod 10^digits": the 6-digit code is the 8-digit one's tail.
    assert totp.totp(SEEDS["SHA1"], totp.counter_at(at(seconds))) == expected[-6:]


def test_seed_is_twenty_bytes_and_thirty_two_base32_characters() -> None:
    seed = totp.new_seed()
    text = totp.base32_seed(seed)
    assert len(seed) == 20 and len(text) == 32
    assert base64.b32decode(text) == seed


def test_otpauth_uri_carries_secret_and_issuer() -> None:
    uri = totp.otpauth_uri(SEEDS["SHA1"], "phone@123456789012")
    assert uri.startswith("otpauth://totp/Amazon%20Web%20Services:phone@123456789012?")
    assert "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in uri and "issuer=Amazon+Web+Services" in uri


@pytest.mark.parametrize(
    ("offset_steps", "window", "found"),
    [(0, 0, True), (1, 1, True), (-1, 1, True), (2, 1, False), (-2, 1, False), (4, 4, True), (5, 4, False)],
)
def test_matching_counter_searches_the_window(offset_steps: int, window: int, found: bool) -> None:
    now = at(1_700_000_000)
    counter = totp.counter_at(now) + offset_steps
    code = totp.totp(SEEDS["SHA1"], counter)
    result = totp.matching_counter(SEEDS["SHA1"], code, now, window, None)
    assert (result == counter) if found else (result is None)


def test_a_used_counter_is_not_accepted_again() -> None:
    now = at(1_700_000_000)
    counter = totp.counter_at(now)
    code = totp.totp(SEEDS["SHA1"], counter)
    assert totp.matching_counter(SEEDS["SHA1"], code, now, 1, counter - 1) == counter
    assert totp.matching_counter(SEEDS["SHA1"], code, now, 1, counter) is None


def test_drift_moves_the_search_centre() -> None:
    now = at(1_700_000_000)
    counter = totp.counter_at(now) + 40
    code = totp.totp(SEEDS["SHA1"], counter)
    assert totp.matching_counter(SEEDS["SHA1"], code, now, 1, None) is None
    assert totp.matching_counter(SEEDS["SHA1"], code, now, 1, None, drift=40) == counter


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 456"])
def test_malformed_codes_never_match(code: str) -> None:
    assert totp.matching_counter(SEEDS["SHA1"], code, at(59), 10, None) is None


def test_consecutive_codes() -> None:
    seed, now = SEEDS["SHA1"], at(1_700_000_000)
    c = totp.counter_at(now) - 1
    first, second = totp.totp(seed, c), totp.totp(seed, c + 1)
    assert totp.consecutive_counter(seed, first, second, now, 4, None) == c + 1
    assert totp.consecutive_counter(seed, second, first, now, 4, None) is None  # wrong order
    assert totp.consecutive_counter(seed, first, first, now, 4, None) is None  # the same code twice
    assert totp.consecutive_counter(seed, first, second, now, 4, c) is None  # already used


@given(seed=st.binary(min_size=16, max_size=64), seconds=st.integers(min_value=0, max_value=2**34))
def test_property_the_current_code_matches_its_own_step_once(seed: bytes, seconds: int) -> None:
    now = at(seconds)
    counter = totp.counter_at(now)
    code = totp.totp(seed, counter)
    assert len(code) == 6 and code.isdigit()
    assert totp.matching_counter(seed, code, now, 1, None) in (counter - 1, counter, counter + 1)
    assert totp.matching_counter(seed, code, now, 0, None) == counter
    replay = totp.matching_counter(seed, code, now, 1, counter)
    assert replay is None or replay > counter
