"""CloudTrail's NextTokens: where a listing stopped, bound to the question it continues, checksummed.

A token carries a position (the last item handed out) and a digest of the
listing's scope (account, region and every input but the page size), under a
keyed checksum: garbage, an edited token or one issued for another question
(another query, account or region) is refused instead of silently restarting
the listing. The key is no secret; the checksum only tells tokens this server
wrote from others. A forged token could at most move the position inside the
caller's own listing: the scope itself never comes from the token.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

_KEY = b"rampart-cloudtrail-next-token-v1"
_MAC_SIZE = 10


def _mac(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, key=_KEY, digest_size=_MAC_SIZE).digest()


def _digest(scope: Sequence[Any]) -> str:
    return hashlib.blake2b(orjson.dumps(list(scope)), digest_size=8).hexdigest()


def seal(scope: Sequence[Any], position: Sequence[Any]) -> str:
    """The opaque token for the page after ``position`` of the listing ``scope`` names (JSON values only)."""
    payload = orjson.dumps([_digest(scope), *position])
    return base64.urlsafe_b64encode(payload + _mac(payload)).decode()


def unseal(scope: Sequence[Any], token: str) -> list[Any] | None:
    """The position a token of ``seal`` holds, if it was issued for this same scope; None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (ValueError, UnicodeError):  # binascii.Error is a ValueError
        return None
    payload, mac = raw[:-_MAC_SIZE], raw[-_MAC_SIZE:]
    if len(raw) <= _MAC_SIZE or mac != _mac(payload):
        return None
    try:
        found = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(found, list) or not found or found[0] != _digest(scope):
        return None
    return found[1:]
