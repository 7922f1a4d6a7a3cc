"""Validation per policy type, rejecting what IAM rejects with IAM's messages.

Size limits are the IAM service's business, not this module's. The checks follow
the IAM "Grammar of the IAM JSON policy language" and "IAM JSON policy element
reference" pages; the messages are the ones IAM returns in MalformedPolicyDocument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rampart.policy import errors as E
from rampart.policy.conditions import parse_operator
from rampart.policy.document import (
    STATEMENT_ELEMENTS,
    TOP_LEVEL,
    VERSIONS,
    Document,
    load,
    statements,
)
from rampart.policy.errors import MalformedPolicyDocument
from rampart.policy.model import PolicyType
from rampart.policy.principals import PRINCIPAL_KINDS, as_list

PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"})
_VENDOR = re.compile(r"^[A-Za-z0-9*?-]+$")
_SID_ALNUM = re.compile(r"^[0-9A-Za-z]*$")
_AWS_PRINCIPAL = re.compile(
    r"^(\*|\d{12}|arn:[\w-]+:iam::\d{12}:(root|user/.+|role/.+|federated-user/.+)"
    r"|arn:[\w-]+:sts::\d{12}:(assumed-role/.+|federated-user/.+))$"
)
_NO_PRINCIPAL = (PolicyType.IDENTITY, PolicyType.BOUNDARY, PolicyType.SESSION)
_NEEDS_PRINCIPAL = (PolicyType.RESOURCE, PolicyType.TRUST, PolicyType.KMS_KEY, PolicyType.RCP)
_IAM_SIDS = (PolicyType.IDENTITY, PolicyType.BOUNDARY, PolicyType.SESSION, PolicyType.TRUST)
_ORGS = (PolicyType.SCP, PolicyType.RCP)


def fail(message: str) -> None:
    raise MalformedPolicyDocument(message)


def validate_policy(document: Document, policy_type: PolicyType) -> None:
    """Raise MalformedPolicyDocument(message) where IAM would refuse the document."""
    doc = load(document)
    for key in doc:
        if key not in TOP_LEVEL:
            fail(E.SYNTAX)
    if "Version" in doc and doc["Version"] not in VERSIONS:
        fail(E.SYNTAX)
    if "Id" in doc and not isinstance(doc["Id"], str):
        fail(E.SYNTAX)
    raw = doc.get("Statement")
    if raw is None or (isinstance(raw, list) and not raw) or not isinstance(raw, (list, dict)):
        fail(E.SYNTAX)
    sids: set[str] = set()
    for stmt in statements(doc):
        if not isinstance(stmt, dict):
            fail(E.SYNTAX)
        _statement(stmt, policy_type, sids)


def _statement(stmt: Mapping[str, Any], policy_type: PolicyType, sids: set[str]) -> None:
    for key in stmt:
        if key not in STATEMENT_ELEMENTS:
            fail(E.SYNTAX)
    _sid(stmt.get("Sid"), policy_type, sids)
    if "Effect" not in stmt:
        fail(E.MISSING_EFFECT)
    if stmt["Effect"] not in ("Allow", "Deny"):
        fail(E.SYNTAX)
    _principal(stmt, policy_type)
    _actions(stmt)
    _resources(stmt, policy_type)
    if "Condition" in stmt:
        _condition(stmt["Condition"])


def _sid(sid: object, policy_type: PolicyType, sids: set[str]) -> None:
    if sid is None:
        return
    if not isinstance(sid, str):
        fail(E.SYNTAX)
    assert isinstance(sid, str)
    if policy_type in _IAM_SIDS and not _SID_ALNUM.match(sid):
        fail(E.SID_ALNUM)
    if sid and sid in sids:
        fail(E.DUPLICATE_SID)
    sids.add(sid)


def _principal(stmt: Mapping[str, Any], policy_type: PolicyType) -> None:
    present = [k for k in ("Principal", "NotPrincipal") if k in stmt]
    if policy_type in _NO_PRINCIPAL and present:
        fail(E.NO_PRINCIPAL_ALLOWED)
    if policy_type is PolicyType.SCP and present:
        fail(E.ORG_TYPE)
    if policy_type is PolicyType.RCP and (present != ["Principal"] or stmt["Principal"] != "*"):
        fail(E.ORG_TYPE)
    if policy_type in _NEEDS_PRINCIPAL and not present:
        fail(E.MISSING_PRINCIPAL)
    if policy_type is PolicyType.TRUST and "NotPrincipal" in stmt:
        fail(E.prohibited("NotPrincipal"))
    if len(present) == 2:
        fail(E.SYNTAX)
    if present:
        _principal_value(stmt[present[0]])


def _principal_value(element: object) -> None:
    if element == "*":
        return
    if not isinstance(element, dict) or not element:
        fail(E.SYNTAX)
    assert isinstance(element, dict)
    for kind, values in element.items():
        if kind not in PRINCIPAL_KINDS:
            fail(E.SYNTAX)
        for value in as_list(values):
            if not isinstance(value, str) or not value:
                fail(E.SYNTAX)
            assert isinstance(value, str)
            if kind == "AWS" and not _AWS_PRINCIPAL.match(value):
                fail(E.bad_principal(kind, value))
            if kind == "Service" and ("*" in value or ":" in value):
                fail(E.bad_principal(kind, value))


def _actions(stmt: Mapping[str, Any]) -> None:
    if "Action" in stmt and "NotAction" in stmt:
        fail(E.SYNTAX)
    raw = stmt.get("Action", stmt.get("NotAction"))
    if raw is None or raw == []:
        fail(E.NEED_ACTIONS)
    for action in as_list(raw):
        if not isinstance(action, str):
            fail(E.SYNTAX)
        assert isinstance(action, str)
        if action == "*":
            continue
        _vendor_prefixed(action)


def _vendor_prefixed(name: str, key: bool = False) -> None:
    """Actions and condition keys both need ``vendor:name``; actions one colon only.

    Condition keys of identity providers carry dots and slashes in their prefix
    (``accounts.google.com:sub``, ``oidc.eks.../id/X:sub``), so only actions get
    the strict vendor check.
    """
    if ":" not in name:
        fail(E.NEED_VENDOR)
    vendor = name.split(":", 1)[0]
    if key:
        if not vendor:
            fail(E.NEED_VENDOR)
        return
    if name.count(":") > 1:
        fail(E.ONE_COLON)
    if not vendor or not _VENDOR.match(vendor):
        fail(E.NEED_VENDOR)


def _resources(stmt: Mapping[str, Any], policy_type: PolicyType) -> None:
    present = [k for k in ("Resource", "NotResource") if k in stmt]
    if policy_type is PolicyType.TRUST:
        if present:
            fail(E.prohibited(present[0]))
        return
    if len(present) == 2:
        fail(E.SYNTAX)
    if not present:
        if policy_type is not PolicyType.SCP:
            fail(E.NEED_RESOURCES)
        return
    raw = stmt[present[0]]
    if raw == []:
        fail(E.NEED_RESOURCES)
    for resource in as_list(raw):
        if not isinstance(resource, str):
            fail(E.SYNTAX)
        assert isinstance(resource, str)
        _resource(resource)


def _resource(resource: str) -> None:
    if resource == "*":
        return
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[2]:
        fail(E.bad_resource(resource))
    partition = parts[1]
    if "*" not in partition and "?" not in partition and partition not in PARTITIONS:
        fail(E.bad_partition(partition, resource))


def _condition(block: object) -> None:
    if not isinstance(block, dict):
        fail(E.SYNTAX)
    assert isinstance(block, dict)
    for operator, entries in block.items():
        if parse_operator(operator) is None:
            fail(E.bad_condition_operator(operator))
        if not isinstance(entries, dict) or not entries:
            fail(E.SYNTAX)
        for key, values in entries.items():
            _vendor_prefixed(key, key=True)
            for value in as_list(values):
                if value is None or isinstance(value, (dict, list)):
                    fail(E.SYNTAX)
