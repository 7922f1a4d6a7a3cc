"""Small builders shared by the policy tests."""

from __future__ import annotations

from typing import Any

from rampart.policy import (
    Decision, PolicySet, PolicyType, Principal, PrincipalType, RequestContext, compile_policy, evaluate,
)

ACCT = "111111111111"
OTHER = "222222222222"


def user(name: str = "alice", account: str = ACCT, **kw: Any) -> Principal:
    return Principal(PrincipalType.USER, f"arn:aws:iam::{account}:user/{name}", account, username=name, **kw)


def role_session(role: str = "R", session: str = "s", account: str = ACCT, **kw: Any) -> Principal:
    return Principal(
        PrincipalType.ASSUMED_ROLE, f"arn:aws:sts::{account}:assumed-role/{role}/{session}", account,
        session_issuer_arn=f"arn:aws:iam::{account}:role/{role}", **kw,
    )


def federated(name: str = "fed", issuer: str = "alice", account: str = ACCT) -> Principal:
    return Principal(
        PrincipalType.FEDERATED_USER, f"arn:aws:sts::{account}:federated-user/{name}", account,
        session_issuer_arn=f"arn:aws:iam::{account}:user/{issuer}",
    )


def root(account: str = ACCT, **kw: Any) -> Principal:
    return Principal(PrincipalType.ROOT, f"arn:aws:iam::{account}:root", account, **kw)


def service(name: str = "cloudtrail.amazonaws.com") -> Principal:
    return Principal(PrincipalType.SERVICE, name, "")


def anonymous() -> Principal:
    return Principal(PrincipalType.ANONYMOUS)


def st(effect: str = "Allow", action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect}
    if action is not None:
        out["Action"] = action
    if resource is not None:
        out["Resource"] = resource
    out.update(extra)
    return out


def pol(*statements: dict[str, Any], ptype: PolicyType = PolicyType.IDENTITY, pid: str = "p",
        version: str | None = "2012-10-17"):
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return compile_policy(doc, pid, ptype)


def decide(principal: Principal, action: str, target: str = "*", /, *, context: dict | None = None,
           resource_account: str | None = None, **policies: Any) -> Decision:
    request = RequestContext(principal, action, target, resource_account, context or {})
    return evaluate(request, PolicySet(**policies))
