"""Turning a Decision into the tail of AWS's AccessDenied message.

AWS's wording (IAM User Guide, "Troubleshoot access denied error messages"):
"User: <arn> is not authorized to perform: <action> on resource: <arn>" followed
by "because no <policy type> allows the <action> action" for an implicit deny or
"with an explicit deny in a(n) <policy type>" for an explicit one.
"""

from __future__ import annotations

from rampart.policy.model import Decision, DecisionKind, PolicyType

POLICY_TYPE_WORDS = {
    PolicyType.IDENTITY: "identity-based policy",
    PolicyType.RESOURCE: "resource-based policy",
    PolicyType.TRUST: "resource-based policy",
    PolicyType.KMS_KEY: "resource-based policy",
    PolicyType.BOUNDARY: "permissions boundary",
    PolicyType.SESSION: "session policy",
    PolicyType.SCP: "service control policy",
    PolicyType.RCP: "resource control policy",
}


def denial_reason(decision: Decision, action: str) -> str:
    """The "because ..." / "with an explicit deny in ..." clause; empty when allowed."""
    if decision.kind is DecisionKind.ALLOWED:
        return ""
    words = POLICY_TYPE_WORDS[decision.blocked_by or PolicyType.IDENTITY]
    if decision.kind is DecisionKind.EXPLICIT_DENY:
        article = "an" if words[0] in "aeiou" else "a"
        return f"with an explicit deny in {article} {words}"
    return f"because no {words} allows the {action} action"
