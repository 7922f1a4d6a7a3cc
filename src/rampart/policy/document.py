"""Reading a policy document into Python values, shared by validation and compilation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from rampart.policy.errors import SYNTAX, MalformedPolicyDocument

VERSIONS = ("2012-10-17", "2008-10-17")
TOP_LEVEL = ("Version", "Id", "Statement")
STATEMENT_ELEMENTS = (
    "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
    "Resource", "NotResource", "Condition",
)

Document = str | bytes | Mapping[str, Any]


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """IAM refuses a JSON object that repeats a key; so do we."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedPolicyDocument(SYNTAX)
        out[key] = value
    return out


def load(document: Document) -> dict[str, Any]:
    """Parse JSON text (or accept a dict) into the document object."""
    if isinstance(document, Mapping):
        return dict(document)
    try:
        value = json.loads(document, object_pairs_hook=_reject_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise MalformedPolicyDocument(SYNTAX) from exc
    if not isinstance(value, dict):
        raise MalformedPolicyDocument(SYNTAX)
    return value


def statements(doc: Mapping[str, Any]) -> list[Any]:
    """The Statement element as a list (IAM accepts one object or a list)."""
    raw = doc.get("Statement")
    if isinstance(raw, list):
        return raw
    return [raw] if raw is not None else []


def content_key(document: Document) -> str:
    """A hash of the document's content, the key of the compiled-policy cache."""
    if isinstance(document, Mapping):
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()
    elif isinstance(document, str):
        text = document.encode("utf-8", "surrogatepass")
    else:
        text = document
    return hashlib.sha256(text).hexdigest()
