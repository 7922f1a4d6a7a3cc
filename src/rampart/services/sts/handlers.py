"""STS operations."""

from __future__ import annotations

from typing import Any

from rampart.gateway.call import Call
from rampart.gateway.registry import handler


@handler("sts", "GetCallerIdentity")
def get_caller_identity(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Who the credentials belong to; needs no permission (AWS documents this)."""
    principal = call.caller.principal
    return {"UserId": principal.user_id, "Account": principal.account_id, "Arn": principal.arn}
