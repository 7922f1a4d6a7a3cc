"""The authorize step: the policy engine decides every call of every service.

The action catalog says which actions (on which resources) an operation
needs; the IAM service says who the caller is and which policies apply to
them (the *subject*); a service that owns resources may say what it knows
about one (its path-qualified ARN, tags, resource policy, owning account).
Each action and resource pair is one engine question; any denial ends the
call with AWS's AccessDenied message. Nothing known → deny (fail closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, TypeVar

from rampart.aws.catalog import Requirement, requirements
from rampart.aws.errors import AccessDenied
from rampart.gateway.call import Call
from rampart.gateway.registry import lookup
from rampart.policy import (
    CompiledPolicy,
    Decision,
    PolicySet,
    Principal,
    PrincipalType,
    RequestContext,
    denial_reason,
    evaluate,
)
from rampart.policy.model import ContextValue

# Operations AWS answers without any permission (documented on the
# sts:GetCallerIdentity page: "No permissions are required").
# The two federation calls are unsigned: the token is the credential, and their
# handlers ask the role's trust policy, never the (anonymous) caller's policies.
# GetSessionToken authenticates (with MFA) rather than acts: "No permissions are
# required for a user to get a session token" (IAM guide, Permissions for GetSessionToken).
UNCONDITIONAL: frozenset[tuple[str, str]] = frozenset(
    {
        ("sts", "GetCallerIdentity"),
        ("sts", "GetSessionToken"),
        ("sts", "AssumeRoleWithWebIdentity"),
        ("sts", "AssumeRoleWithSAML"),
    }
)

F = TypeVar("F", bound=Callable[..., Any])

# Operations whose handler asks the engine about each item itself, with
# ``ItemAuthorizer``: S3's DeleteObjects reports a denied key in its Errors and
# deletes the others. (service, operation) -> (those actions, the handler
# that asks them). Filled by ``defer_to_handler`` only.
_deferred: dict[tuple[str, str], tuple[frozenset[str], Callable[..., Any]]] = {}
DEFERRED_TO_HANDLER: Mapping[tuple[str, str], tuple[frozenset[str], Callable[..., Any]]] = MappingProxyType(_deferred)


def defer_to_handler(service: str, operation: str, *actions: str) -> Callable[[F], F]:
    """Declare, on the handler itself (above ``@handler``), that it asks ``actions`` item by item.

    The gateway then leaves those actions out of its own questions, but only
    while the registered handler is the very function that made the
    declaration: another handler for the operation gets every action asked
    by the gateway again (fail closed).
    """
    def declare(function: F) -> F:
        _deferred[(service, operation)] = (frozenset(actions), function)
        return function

    return declare


def deferred_actions(service: str | None, operation: str | None) -> frozenset[str]:
    """The actions the operation's registered handler asks itself (empty: the gateway asks them all)."""
    found = _deferred.get((service or "", operation or ""))
    if found is None or lookup(service or "", operation or "") is not found[1]:
        return frozenset()
    return found[0]


@dataclass(frozen=True, slots=True)
class Subject:
    """The caller as the engine sees it: principal, identity-side policies, session keys.

    ``context`` holds keys that come from the credentials rather than the
    request (aws:MultiFactorAuthPresent, aws:TokenIssueTime, ...).
    """

    principal: Principal
    policies: PolicySet
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """What the owning service knows about one resource named by the catalog."""

    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)
    policy: CompiledPolicy | None = None
    account: str | None = None
    boundary: str | None = None  # an IAM user's or role's permissions boundary (iam:PermissionsBoundary)


@dataclass(frozen=True, slots=True)
class AccountOrg:
    """An account's place in an organization, as Organizations tells the authorizer.

    ``scp_levels`` / ``rcp_levels`` run root -> OUs -> account (empty when the
    type is not enabled); ``paths`` is aws:PrincipalOrgPaths' one value
    (``o-x/r-x/ou-x/``). The same object is handed out until something changes,
    so callers may cache what they derive from it by identity.
    """

    org_id: str
    paths: str
    management: bool
    scp_levels: tuple[tuple[CompiledPolicy, ...], ...] = ()
    rcp_levels: tuple[tuple[CompiledPolicy, ...], ...] = ()


SubjectResolver = Callable[[Call], "Subject | None"]
ResourceResolver = Callable[[Call, str], ResourceFacts]
ContextResolver = Callable[[Call, Mapping[str, Any], str], Mapping[str, ContextValue]]
RequirementResolver = Callable[[Call, Mapping[str, Any]], Sequence[Requirement]]
OrganizationResolver = Callable[[str], "AccountOrg | None"]
SessionContextResolver = Callable[[Call], "Mapping[str, ContextValue] | None"]

DenialEncoder = Callable[[Call, Principal, str, str, Decision, Mapping[str, ContextValue]], str]
"""(call, principal, action, resource, decision, context) -> the opaque encoded explanation."""

# Protocols whose services answer a denial with "Encoded authorization failure
# message: ..." (EC2's UnauthorizedOperation), which only sts:DecodeAuthorizationMessage opens.
ENCODED_DENIAL_PROTOCOLS = frozenset({"ec2"})

_ANONYMOUS = Subject(Principal(PrincipalType.ANONYMOUS), PolicySet())
_denial_encoder: list[DenialEncoder] = []
_subject_resolver: list[SubjectResolver] = []
_resource_resolvers: dict[str, ResourceResolver] = {}
_context_resolvers: dict[str, ContextResolver] = {}
_requirement_resolvers: dict[str, list[RequirementResolver]] = {}
_org_resolver: list[OrganizationResolver] = []
_session_context_resolver: list[SessionContextResolver] = []


def set_denial_encoder(encoder: DenialEncoder) -> None:
    """Install the function that seals a denial's explanation for DecodeAuthorizationMessage (STS's)."""
    _denial_encoder[:] = [encoder]


def set_subject_resolver(resolver: SubjectResolver) -> None:
    """Install the function that turns an authenticated caller into a Subject (IAM's)."""
    _subject_resolver[:] = [resolver]


def set_resource_resolver(service: str, resolver: ResourceResolver) -> None:
    """Install what ``service`` knows about its resources (ARN with path, tags, policy)."""
    _resource_resolvers[service] = resolver


def set_context_resolver(service: str, resolver: ContextResolver) -> None:
    """Install the service-specific condition keys of ``service`` (iam:PolicyARN, s3:prefix, ...)."""
    _context_resolvers[service] = resolver


def add_requirement_resolver(service: str, resolver: RequirementResolver) -> None:
    """Add requirements of ``service``'s calls that only stored state reveals.

    The catalog reads the request alone; an EC2 instance profile named in
    RunInstances hides the role that is passed, which IAM knows.
    """
    found = _requirement_resolvers.setdefault(service, [])
    if resolver not in found:
        found.append(resolver)


def set_organization_resolver(resolver: OrganizationResolver) -> None:
    """Install Organizations' answer to "which organization governs this account, and how?" (cached there)."""
    _org_resolver[:] = [resolver]


def set_session_context_resolver(resolver: SessionContextResolver) -> None:
    """Install the keys a root user's temporary credentials carry (STS's: aws:MultiFactorAuthPresent, ...).

    IAM's subject resolver adds them for IAM principals' sessions; the root
    user is described here, so without this hook an MFA-gated SCP would not
    see that a member root's GetSessionToken session did use MFA.
    """
    _session_context_resolver[:] = [resolver]


def authorize(call: Call, params: dict[str, Any]) -> None:
    """Allow or raise AccessDenied; marks the call authorized on success.

    An account's root user goes through the engine like everyone else: it is
    allowed everything in its own account (the engine knows root), but another
    account's resources only where their resource policies grant it, and a
    member account's root stays bound by SCPs and RCPs.
    """
    if (call.service, call.operation) in UNCONDITIONAL:
        call.authorized = True
        return
    subject = subject_of(call)
    context = request_context(call, params, subject)
    # Nothing to ask is not a yes: an empty answer from the catalog still asks
    # about the operation itself, and an action without resources about "*".
    needed: Sequence[Requirement] = _requirements(call, params) or (Requirement(f"{call.service}:{call.operation}"),)
    deferred = deferred_actions(call.service, call.operation)
    if deferred:  # the handler asks these item by item (``ItemAuthorizer``) before acting on each
        needed = [requirement for requirement in needed if requirement.action not in deferred]
    for requirement in needed:
        action_context = _action_context(call, params, requirement, context)
        for resource in requirement.resources or ("*",):
            facts = describe(call, resource)
            if call.resource_account is None:
                call.resource_account = facts.account
            decision = decide_for_resource(subject, requirement.action, facts, action_context)
            if not decision.allowed:
                raise _denial(call, subject, requirement, facts, decision, action_context)
    call.authorized = True


class ItemAuthorizer:
    """The engine's answer about one item at a time, for handlers of deferred operations.

    Same subject, request context, service keys, resource facts and
    organization overlay as the gateway's step; the subject and the context
    are worked out once for all items. A denial is a plain False: the
    handler reports it per item (S3's Errors), so no explanation is built.
    """

    def __init__(self, call: Call, params: Mapping[str, Any] | None = None) -> None:
        self._call = call
        self._params: Mapping[str, Any] = params if params is not None else (call.params or {})
        self._subject = subject_of(call)
        self._context = request_context(call, self._params, self._subject)
        self._by_action: dict[str, Mapping[str, ContextValue]] = {}

    def allowed(self, action: str, resource_arn: str, context: Mapping[str, ContextValue] | None = None) -> bool:
        """May the caller do ``action`` on ``resource_arn``? ``context``: this item's own keys (s3:VersionId)."""
        action_context = self._by_action.get(action)
        if action_context is None:
            requirement = Requirement(action, (resource_arn,))
            action_context = _action_context(self._call, self._params, requirement, self._context)
            self._by_action[action] = action_context
        if context:
            action_context = {**action_context, **context}
        facts = describe(self._call, resource_arn)
        return decide_for_resource(self._subject, action, facts, action_context).allowed


def _requirements(call: Call, params: dict[str, Any]) -> Sequence[Requirement]:
    """The catalog's answer, refined by what stored state reveals; IAM operations without a UserName act on the caller."""
    principal = call.caller.principal
    caller_name = getattr(principal, "name", None) if getattr(principal, "kind", None) == "user" else None
    needed = requirements(
        call.service or "", call.operation or "", params, call.account_id or "", call.region, caller_name=caller_name
    )
    added = [found for resolver in _requirement_resolvers.get(call.service or "", ()) for found in resolver(call, params)]
    if not added:
        return needed
    # A resolver that locates an action's resource (the key named inside a KMS
    # ciphertext blob) replaces the catalog's "*" guess for that action.
    located = {found.action for found in added if found.resources and found.resources != ("*",)}
    kept = [found for found in needed if not (found.action in located and tuple(found.resources or ("*",)) == ("*",))]
    return [*kept, *added]


def _action_context(
    call: Call, params: Mapping[str, Any], requirement: Requirement, context: dict[str, ContextValue]
) -> Mapping[str, ContextValue]:
    """The request's keys plus the service's own keys for this action and the requirement's (iam:PassedToService)."""
    own_keys = _context_resolvers.get(call.service or "")
    extra = own_keys(call, params, requirement.action) if own_keys is not None else None
    if not extra and not requirement.context:
        return context
    return {**context, **(extra or {}), **dict(requirement.context)}


def describe(call: Call, resource: str) -> ResourceFacts:
    """What the service that owns a resource knows about it (by the ARN's service, not the call's:
    iam:PassRole on a CloudTrail call is about an IAM role)."""
    if resource == "*":
        return ResourceFacts(resource)
    parts = resource.split(":", 3)
    resolver = _resource_resolvers.get(parts[2]) if len(parts) > 3 else None
    return resolver(call, resource) if resolver is not None else ResourceFacts(resource)


def subject_of(call: Call) -> Subject:
    """The caller as the engine sees it, governed by its account's organization (if any)."""
    if call.caller.principal is None:
        return _ANONYMOUS
    if getattr(call.caller.principal, "kind", None) == "service":
        return _service_subject(call.caller.principal)
    if call.caller.is_root:
        found: Subject | None = _root_subject(call)
    else:
        found = _subject_resolver[0](call) if _subject_resolver else None
    if found is None:  # a principal nobody can describe gets no rights
        return Subject(Principal(PrincipalType.USER, call.caller.arn or "", call.account_id or ""), PolicySet())
    org = account_org(call)
    found = found if org is None else with_organization(found, org)
    return _with_root_session(call, found) if call.caller.is_root else found


def _service_subject(principal: Any) -> Subject:
    """An AWS service acting for a resource (``gateway.service_calls``): only resource policies can allow it.

    Organizations' SCPs and RCPs do not govern AWS service principals.
    """
    context: dict[str, ContextValue] = {"aws:PrincipalServiceName": principal.service, "aws:PrincipalIsAWSService": True}
    if principal.source_arn:
        context["aws:SourceArn"] = principal.source_arn
    if principal.source_account:
        context["aws:SourceAccount"] = principal.source_account
    return Subject(Principal(PrincipalType.SERVICE, principal.service), PolicySet(), context)


def _with_root_session(call: Call, subject: Subject) -> Subject:
    """The root subject plus its session's keys, if the credentials are temporary.

    Merged after the organization overlay so the cached root subject and its
    policies (the engine's plan cache keys) stay the same from call to call.
    """
    keys = _session_context_resolver[0](call) if _session_context_resolver else None
    return Subject(subject.principal, subject.policies, {**subject.context, **keys}) if keys else subject


def org_of_account(account_id: str | None) -> AccountOrg | None:
    """An account's place in an organization (None: none, or Organizations absent)."""
    return _org_resolver[0](account_id) if _org_resolver and account_id else None


def account_org(call: Call) -> AccountOrg | None:
    """The caller's account's place in an organization (None: none, or Organizations absent)."""
    return org_of_account(call.account_id)


def decide(
    subject: Subject, action: str, facts: ResourceFacts, context: Mapping[str, ContextValue],
    resource_in_management_account: bool | None = None,
) -> Decision:
    """One engine question: may the subject do ``action`` on the described resource?"""
    policies = subject.policies if facts.policy is None else replace(subject.policies, resource=facts.policy)
    if facts.tags:
        context = {**context, **{f"aws:ResourceTag/{k}": v for k, v in facts.tags.items()}}
    request = RequestContext(subject.principal, action, facts.arn, facts.account, context,
                             resource_in_management_account)
    return evaluate(request, policies)


# --- organizations ------------------------------------------------------------------

_RESOURCE_ORG_KEYS = ("aws:ResourceOrgID", "aws:ResourceOrgPaths")
_overlaid: dict[int, tuple[Subject, AccountOrg, Subject]] = {}
_roots: dict[str, Subject] = {}
_OVERLAY_LIMIT = 4096


def _root_subject(call: Call) -> Subject:
    """An account's root user: allowed everything in its own account (the engine knows root), save what SCPs and RCPs take."""
    account = call.account_id or ""
    found = _roots.get(account)
    if found is None:
        if len(_roots) >= _OVERLAY_LIMIT:
            _roots.clear()
        principal = Principal(PrincipalType.ROOT, f"arn:aws:iam::{account}:root", account, user_id=account)
        found = _roots[account] = Subject(principal, PolicySet())
    return found


def with_organization(subject: Subject, org: AccountOrg) -> Subject:
    """The subject as governed by its account's organization: SCP and own-account RCP levels, org keys.

    Cached by identity of (subject, org): both are cached objects upstream, so
    the engine's plan tokens survive from request to request.
    """
    found = _overlaid.get(id(subject))
    if found is not None and found[0] is subject and found[1] is org:
        return found[2]
    keys = {"aws:PrincipalOrgID": org.org_id, "aws:PrincipalOrgPaths": [org.paths],
            "aws:ResourceOrgID": org.org_id, "aws:ResourceOrgPaths": [org.paths]}
    principal = replace(subject.principal, in_management_account=org.management)
    policies = replace(subject.policies, scp_levels=org.scp_levels, rcp_levels=org.rcp_levels)
    overlaid = Subject(principal, policies, {**subject.context, **keys})
    if len(_overlaid) >= _OVERLAY_LIMIT:
        _overlaid.clear()
    _overlaid[id(subject)] = (subject, org, overlaid)
    return overlaid


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and len(parts[4]) == 12 and parts[4].isdigit() else None


def decide_for_resource(
    subject: Subject, action: str, facts: ResourceFacts, context: Mapping[str, ContextValue]
) -> Decision:
    """``decide`` as the gateway asks it: the resource's account may be governed by another organization's RCPs.

    Within the caller's account ``with_organization`` already applied them;
    for another account's resource its RCP levels and aws:ResourceOrg* keys
    replace the caller's. Services that ask the engine themselves (KMS for
    S3's data keys) use this too.
    """
    if not _org_resolver:
        return decide(subject, action, facts, context)
    owner = facts.account or (_arn_account(facts.arn) if facts.arn != "*" else None)
    if owner is None or owner == subject.principal.account:
        return decide(subject, action, facts, context)
    org = _org_resolver[0](owner)
    policies = subject.policies
    if org is None:
        context = {k: v for k, v in context.items() if k not in _RESOURCE_ORG_KEYS}
        if policies.rcp_levels:
            subject = Subject(subject.principal, replace(policies, rcp_levels=()), subject.context)
        return decide(subject, action, facts, context, False)
    context = {**context, "aws:ResourceOrgID": org.org_id, "aws:ResourceOrgPaths": [org.paths]}
    if policies.rcp_levels != org.rcp_levels:
        subject = Subject(subject.principal, replace(policies, rcp_levels=org.rcp_levels), subject.context)
    return decide(subject, action, facts, context, org.management)


def _denial(
    call: Call,
    subject: Subject,
    requirement: Requirement,
    facts: ResourceFacts,
    decision: Decision,
    context: Mapping[str, ContextValue],
) -> AccessDenied:
    """AWS's AccessDenied for one failed question; EC2-style services also carry the sealed explanation."""
    message = denied_message(subject.principal, requirement, facts.arn, decision)
    if call.protocol in ENCODED_DENIAL_PROTOCOLS and _denial_encoder:
        encoded = _denial_encoder[0](call, subject.principal, requirement.action, facts.arn, decision, context)
        message = (
            f"You are not authorized to perform this operation. {message} "
            f"Encoded authorization failure message: {encoded}"
        )
    return AccessDenied(message)


def denied_message(principal: Principal, requirement: Requirement, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied wording, naming the resource when the action has one."""
    who = principal.arn or "anonymous"
    on = f" on resource: {resource}" if resource != "*" else ""
    return f"User: {who} is not authorized to perform: {requirement.action}{on} {denial_reason(decision, requirement.action)}"


# --- global condition keys --------------------------------------------------------

_time_cache: list[Any] = [None, None]


def _time_keys(now: dt.datetime) -> tuple[str, str]:
    """aws:CurrentTime and aws:EpochTime, formatted once per second."""
    second = int(now.timestamp())
    if _time_cache[0] != second:
        _time_cache[0] = second
        _time_cache[1] = (now.strftime("%Y-%m-%dT%H:%M:%SZ"), str(second))
    return _time_cache[1]


def request_context(call: Call, params: Mapping[str, Any], subject: Subject) -> dict[str, ContextValue]:
    """The global condition keys that come from the request itself.

    Keys that follow from the principal (aws:PrincipalArn, aws:username,
    aws:PrincipalTag/*, ...) are derived by the engine; aws:ResourceTag/* and
    aws:ResourceAccount come with each resource.
    """
    current, epoch = _time_keys(call.received_at)
    context: dict[str, ContextValue] = {
        "aws:SourceIp": call.caller.source_ip,
        "aws:SecureTransport": call.caller.secure,
        "aws:CurrentTime": current,
        "aws:EpochTime": epoch,
        "aws:RequestedRegion": call.region,
        "aws:ViaAWSService": False,
    }
    if call.caller.user_agent:
        context["aws:UserAgent"] = call.caller.user_agent
    context.update(subject.context)
    tags, keys = request_tags(params)
    for key, value in tags.items():
        context[f"aws:RequestTag/{key}"] = value
    if keys:
        context["aws:TagKeys"] = keys
    return context


_TAG_MEMBERS = ("Tags", "tags", "TagList", "TagsList")
_TAG_KEY_MEMBERS = ("TagKeys", "tagKeys", "TagKeyList")


def request_tags(params: Mapping[str, Any]) -> tuple[dict[str, str], Sequence[str]]:
    """aws:RequestTag/* values and aws:TagKeys from whichever tag member the model uses.

    Models spell tags as a list of {Key, Value} (IAM, S3, ...), of {TagKey,
    TagValue} (KMS), or as a map (CloudWatch Logs, GuardDuty, ...); untagging
    operations name keys only.
    """
    tags: dict[str, str] = {}
    for member in _TAG_MEMBERS:
        value = params.get(member)
        if isinstance(value, Mapping):
            tags.update({str(k): str(v) for k, v in value.items()})
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    key = item.get("Key", item.get("TagKey", item.get("key")))
                    if key is not None:
                        tags[str(key)] = str(item.get("Value", item.get("TagValue", item.get("value", ""))))
    keys = list(tags)
    for member in _TAG_KEY_MEMBERS:
        value = params.get(member)
        if isinstance(value, list):
            keys.extend(str(k) for k in value)
    return tags, keys
