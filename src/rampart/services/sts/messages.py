"""Encoded authorization messages: what services put in AccessDenied, what STS decodes.

AWS services that answer AccessDenied with "Encoded authorization failure
message: ..." (EC2 and others) hide the explanation from the caller; only a
principal allowed sts:DecodeAuthorizationMessage in the same account can read
it. Here the explanation is JSON sealed with AES-GCM under the master key,
bound to the account by the associated data, so it cannot be read, forged or
replayed into another account.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from rampart.policy import Decision, DecisionKind, Principal
from rampart.policy.model import StatementRef
from rampart.secrets import DecryptionError, MasterKey
from rampart.services.sts.errors import InvalidAuthorizationMessage

AAD_PREFIX = b"rampart/sts/authorization-message/v1/"
INVALID = "The encoded authorization message is invalid."


def _aad(account_id: str) -> bytes:
    return AAD_PREFIX + account_id.encode()


def encode_authorization_message(master_key: MasterKey, account_id: str, explanation: Mapping[str, Any]) -> str:
    """The opaque text an AccessDenied message carries (AWS's ``DecodedMessage`` shape inside)."""
    sealed = master_key.encrypt(orjson.dumps(dict(explanation)), _aad(account_id))
    return base64.urlsafe_b64encode(sealed).decode("ascii").rstrip("=")


def decode_authorization_message(master_key: MasterKey, account_id: str, encoded: str) -> str:
    """The explanation as JSON text; InvalidAuthorizationMessageException when it does not open here."""
    text = encoded.strip()
    try:
        sealed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return master_key.decrypt(sealed, _aad(account_id)).decode("utf-8")
    except (ValueError, binascii.Error, DecryptionError, UnicodeError):
        raise InvalidAuthorizationMessage(INVALID) from None


def denial_explanation(
    principal_arn: str, action: str, resource: str, decision: Decision, context: Mapping[str, Any]
) -> dict[str, Any]:
    """AWS's DecodedMessage shape: allowed, explicitDeny, matchedStatements, failures, context."""
    return {
        "allowed": decision.allowed,
        "explicitDeny": decision.kind is DecisionKind.EXPLICIT_DENY,
        "matchedStatements": {"items": [_statement(ref) for ref in decision.deciding]},
        "failures": {"items": []},
        "context": {
            "principal": {"arn": principal_arn},
            "action": action,
            "resource": resource,
            "conditions": {"items": [_condition(k, v) for k, v in sorted(context.items())]},
        },
    }


def _statement(ref: StatementRef) -> dict[str, Any]:
    """One deciding statement, as the decoded message names it."""
    return {"statementId": ref.sid or "", "effect": ref.effect, "sourcePolicyId": ref.policy_id,
            "sourcePolicyType": ref.policy_type.value}


def _condition(key: str, value: Any) -> dict[str, Any]:
    values = value if isinstance(value, list | tuple) else [value]
    return {"key": key, "values": {"items": [{"value": str(v)} for v in values]}}


def encoder(master_key: MasterKey) -> Callable[..., str]:
    """The gateway's denial encoder: seals the explanation to the caller's account."""

    def encode(call: Any, principal: Principal, action: str, resource: str, decision: Decision,
               context: Mapping[str, Any]) -> str:
        explanation = denial_explanation(principal.arn, action, resource, decision, context)
        return encode_authorization_message(master_key, call.account_id or "", explanation)

    return encode
