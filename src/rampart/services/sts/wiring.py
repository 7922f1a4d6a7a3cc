"""Plugging STS into a gateway: temporary keys for SigV4, sessions and trust for authorize.

How AssumeRole is authorized (the careful part). The catalog asks
sts:AssumeRole on the role ARN; IAM's resource resolver hands that role to
``subject.role_facts``, which describes it *with its trust policy* as the
resource policy (type TRUST: it must allow by itself) and the role's account
as the resource account. The gateway's single engine question is then AWS's
own: in one account a trust policy naming the caller suffices (no identity
policy needed) and one naming only the account defers to the caller's
identity policies; across accounts both must allow. The requirement resolver
adds sts:TagSession / sts:SetSourceIdentity on the role when the request uses
them; the context resolver adds sts:ExternalId, sts:RoleSessionName,
sts:SourceIdentity, sts:TransitiveTagKeys and (claimed until the handler
verifies the code) aws:MultiFactorAuthPresent. The handler then checks again
with the MFA code verified (``assume.assume_role_checks``), so the trust check
holds even where this wiring is absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rampart.aws.catalog import Requirement
from rampart.gateway.authorize import (
    add_requirement_resolver,
    set_context_resolver,
    set_denial_encoder,
    set_session_context_resolver,
)
from rampart.gateway.call import Call
from rampart.gateway.registry import on_gateway
from rampart.policy.model import ContextValue
from rampart.services.iam.authz import SESSION_HOOKS
from rampart.services.sts import messages, subject
from rampart.services.sts.assume import assume_context
from rampart.services.sts.sessions import session_context, session_of, signing_record

TRUST_OPERATIONS = frozenset({("sts", "AssumeRole")})


def sts_requirements(call: Call, params: Mapping[str, Any]) -> Sequence[Requirement]:
    """sts:TagSession and sts:SetSourceIdentity, on the role (or federated user) the call names."""
    if call.operation == "AssumeRole":
        target = str(params.get("RoleArn") or "")
    elif call.operation == "GetFederationToken":
        target = f"arn:aws:sts::{call.account_id}:federated-user/{params.get('Name') or ''}"
    else:
        return []
    needed = []
    if params.get("Tags") or params.get("TransitiveTagKeys"):
        needed.append(Requirement("sts:TagSession", (target,)))
    if params.get("SourceIdentity"):
        needed.append(Requirement("sts:SetSourceIdentity", (target,)))
    return needed


def assume_role_context(call: Call, params: Mapping[str, Any], action: str) -> dict[str, ContextValue]:
    """AssumeRole's sts: condition keys (MFA as claimed: the handler verifies the code)."""
    tags = {str(t.get("Key")): str(t.get("Value")) for t in params.get("Tags") or ()}
    context = assume_context(
        params.get("RoleSessionName"), tags, params.get("TransitiveTagKeys") or (), params.get("SourceIdentity")
    )
    if params.get("ExternalId"):
        context["sts:ExternalId"] = params["ExternalId"]
    if params.get("SerialNumber") and params.get("TokenCode"):
        context["aws:MultiFactorAuthPresent"] = True
        context["aws:MultiFactorAuthAge"] = "0"
    return context


ContextFunction = Callable[[Call, Mapping[str, Any], str], dict[str, ContextValue]]
STS_CONTEXTS: dict[str, ContextFunction] = {"AssumeRole": assume_role_context}
"""Per operation: its own condition keys (the federation operations add theirs here)."""


def sts_context(call: Call, params: Mapping[str, Any], action: str) -> dict[str, ContextValue]:
    """STS's condition keys for the call's operation, if it has any."""
    found = STS_CONTEXTS.get(call.operation or "")
    return found(call, params, action) if found is not None else {}


def root_session_context(call: Call) -> dict[str, ContextValue] | None:
    """A root user's GetSessionToken session's keys (aws:MultiFactorAuthPresent, aws:TokenIssueTime, ...).

    The gateway describes root itself (IAM's subject resolver, which adds
    these keys for IAM principals' sessions, never sees root), so an SCP on a
    member account's root needs them from here.
    """
    spec = session_of(call.caller.principal)
    if spec is None or spec.kind != "root":
        return None
    return session_context(spec, call.received_at)


@on_gateway
def wire(gateway: Any) -> None:
    """Temporary keys for the credential store; session subjects and trust facts for authorize."""
    if gateway.accounts is not None:
        gateway.accounts.resolve_session = signing_record
        set_denial_encoder(messages.encoder(gateway.accounts.master_key))
    SESSION_HOOKS.subject = subject.session_subject
    SESSION_HOOKS.role_facts = subject.role_facts
    SESSION_HOOKS.trust_operations = TRUST_OPERATIONS
    set_context_resolver("sts", sts_context)
    add_requirement_resolver("sts", sts_requirements)
    set_session_context_resolver(root_session_context)
