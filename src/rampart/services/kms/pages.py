"""Marker pagination as KMS does it: Limit (1-1000, default 100) and an opaque NextMarker."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rampart.services.kms.errors import InvalidMarkerException

T = TypeVar("T")


def _encode(position: str) -> str:
    """The opaque marker of a position."""
    return base64.urlsafe_b64encode(position.encode()).decode()


def _decode(marker: str) -> str:
    """The position a marker stands for; only a marker this server handed out decodes.

    The decoding is strict (exact alphabet and padding, and it must encode back to
    the same text), so "!!!" or "====" are refused rather than read as "start over".
    """
    try:
        position = base64.urlsafe_b64decode(marker.encode("ascii")).decode()
    except (ValueError, UnicodeError) as exc:
        raise InvalidMarkerException("The marker is not valid.") from exc
    if not position or _encode(position) != marker:
        raise InvalidMarkerException("The marker is not valid.")
    return position


def page(items: Sequence[T], params: dict[str, Any], position: Callable[[T], str]) -> tuple[list[T], str | None]:
    """One page of items sorted by ``position``, and the marker of the next page (None at the end)."""
    limit = int(params.get("Limit") or 100)
    start = 0
    if params.get("Marker"):
        after = _decode(params["Marker"])
        start = next((i for i, item in enumerate(items) if position(item) > after), len(items))
    chosen = list(items[start:start + limit])
    more = start + limit < len(items)
    return chosen, (_encode(position(chosen[-1])) if more and chosen else None)


def listing(member: str, items: Sequence[T], params: dict[str, Any], position: Callable[[T], str]) -> dict[str, Any]:
    """A List* answer: one page of ``items`` under ``member``, Truncated, and NextMarker when there is more."""
    found, marker = page(items, params, position)
    out: dict[str, Any] = {member: found, "Truncated": marker is not None}
    if marker is not None:
        out["NextMarker"] = marker
    return out
