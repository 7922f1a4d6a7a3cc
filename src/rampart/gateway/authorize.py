"""The authorize step: until the IAM engine is wired in, only root may act.

This is the hook the IAM policy engine fills. It fails closed: a caller that
is not its own account's root is denied everything except the operations
that AWS answers for anyone authenticated.
"""

from __future__ import annotations

from typing import Any

from rampart.aws.errors import AccessDenied
from rampart.aws.models import action_prefix
from rampart.gateway.call import Call

# Operations AWS answers without any permission (documented on the
# sts:GetCallerIdentity page: "No permissions are required").
UNCONDITIONAL: frozenset[tuple[str, str]] = frozenset({("sts", "GetCallerIdentity")})


def iam_action(call: Call) -> str:
    """The IAM action a call needs; the action catalog will refine this."""
    return f"{action_prefix(call.service or '')}:{call.operation}"


def authorize(call: Call, params: dict[str, Any]) -> None:
    """Allow or raise AccessDenied; marks the call authorized on success."""
    if (call.service, call.operation) in UNCONDITIONAL or call.caller.is_root:
        call.authorized = True
        return
    who = call.caller.arn or "anonymous"
    action = iam_action(call)
    raise AccessDenied(
        f"User: {who} is not authorized to perform: {action} "
        f"because no identity-based policy allows the {action} action"
    )
