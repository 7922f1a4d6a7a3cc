"""The IAM policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy, GetContextKeysFor*Policy.

Answers come from the gateway's own path: ``authz.identity_policies`` gathers
an entity's policies exactly as enforcement does, and every question goes
through ``gateway.authorize.decide`` (hence ``rampart.policy.evaluate``), so
what the simulator says is what a real call would meet. Differences from a
real request: the simulator knows only the context keys the caller supplies
(ContextEntries) plus those the engine derives from the principal
(aws:username, aws:PrincipalArn, ...), and resources carry no stored tags or
policies besides the ResourcePolicy given. SimulatePrincipalPolicy applies
the SCPs of the account's organization (from the gateway's organization
resolver, as enforcement does) and its aws:PrincipalOrg* / aws:ResourceOrg*
keys; SimulateCustomPolicy, as in AWS, only the SCPs it is given; RCPs are
not simulated (AWS's simulator ignores them too).

Output follows the current IAM model: one EvaluationResult per action whose
top-level fields aggregate the per-resource results (the most restrictive
decision, the union of matched statements and missing keys), with the
per-resource answers in ResourceSpecificResults. MatchedStatements name a
policy as AWS does (an inline policy ``user_<user>_<policy>``, a managed
policy by its name, inputs as ``PolicyInputList.<n>``), with type ``IAM Policy``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rampart.gateway.authorize import ResourceFacts, Subject, decide
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.policy import (
    CompiledPolicy,
    Decision,
    DecisionKind,
    MalformedPolicyDocument,
    PolicySet,
    PolicyType,
    Principal,
    PrincipalType,
    StatementRef,
    compile_policy,
    validate_policy,
)
from rampart.policy.model import ContextValue
from rampart.services.iam import authz, store
from rampart.services.iam.errors import InvalidInput, NoSuchEntity
from rampart.services.iam.simulate_context import (
    Position,
    account_organization,
    context_keys,
    context_values,
    excludes_scps,
    resource_template,
    statement_positions,
)

IDENTITY_WORD = "IAM Policy"
RESOURCE_WORD = "Resource Policy"
BOUNDARY_WORD = "Permissions Boundary Policy"
_WORDS = {
    DecisionKind.ALLOWED: "allowed",
    DecisionKind.EXPLICIT_DENY: "explicitDeny",
    DecisionKind.IMPLICIT_DENY: "implicitDeny",
}
_SEVERITY = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}
_HANDLING_OPTIONS = frozenset(
    {"EC2-VPC-InstanceStore", "EC2-VPC-InstanceStore-Subnet", "EC2-VPC-EBS", "EC2-VPC-EBS-Subnet"}
)
_PRINCIPAL_KINDS = (store.USER, store.GROUP, store.ROLE)


@dataclass(frozen=True)
class Source:
    """One simulated policy document and the names MatchedStatements give it (None: never reported)."""

    source_id: str
    type_word: str | None
    document: str


@dataclass
class Simulation:
    """Everything one simulate call evaluates: who, which policies, which context."""

    principal: Principal
    identity: list[Source]
    boundary: Source | None = None
    resource: Source | None = None
    scp_levels: list[list[Source]] = field(default_factory=list)
    context: dict[str, ContextValue] = field(default_factory=dict)
    # The account's own SCPs (SimulatePrincipalPolicy in a member account), root level first,
    # and the org keys a same-account resource adds; ``in_organization``: report AllowedByOrganizations.
    org_scp_levels: tuple[tuple[CompiledPolicy, ...], ...] = ()
    resource_org_context: dict[str, ContextValue] = field(default_factory=dict)
    in_organization: bool = False
    resource_owner: str | None = None
    by_id: dict[str, Source] = field(default_factory=dict)
    positions: dict[str, list[tuple[Position, Position]] | None] = field(default_factory=dict)

    def compile(self, source: Source, policy_type: PolicyType) -> CompiledPolicy:
        """Compile under an id unique to this simulation, so a StatementRef names one Source."""
        policy_id = f"sim{len(self.by_id)}"
        self.by_id[policy_id] = source
        return compile_policy(source.document, policy_id, policy_type)

    def position(self, ref: StatementRef) -> tuple[Position, Position] | None:
        """Where the statement behind ``ref`` sits in its document's text."""
        if ref.policy_id not in self.positions:
            self.positions[ref.policy_id] = statement_positions(self.by_id[ref.policy_id].document)
        found = self.positions[ref.policy_id]
        return found[ref.index] if found is not None and ref.index < len(found) else None


@dataclass(frozen=True)
class Compiled:
    """A simulation's policy sets: the gateway's, and each layer alone (for the decision details)."""

    base: PolicySet
    resource: CompiledPolicy | None
    identity_alone: PolicySet
    boundary_alone: PolicySet | None
    resource_alone: PolicySet | None


@dataclass(frozen=True)
class Outcome:
    """One action on one resource, decided and explained."""

    resource: str
    word: str
    matched: tuple[dict[str, Any], ...]
    missing: tuple[str, ...]
    boundary_ok: bool | None
    organizations_ok: bool | None
    details: dict[str, str] | None


# --- handlers -------------------------------------------------------------------------


@handler("iam", "SimulatePrincipalPolicy")
def simulate_principal_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Simulate a user's, group's or role's own policies (a user's groups included)."""
    with call.gateway.db.read() as conn:
        found = _source_policies(conn, call.account_id, params["PolicySourceArn"])
        caller = _caller_principal(conn, call.account_id, params.get("CallerArn"))
    if params.get("ResourcePolicy") and caller is None and found.entity.kind == store.GROUP:
        raise InvalidInput("CallerArn must be provided when a group is simulated with a resource policy.")
    excluded = params.get("PolicyExclusionList") or []
    identity = [_entity_source(s) for s in found.identity if not _is_excluded(s, excluded)]
    boundary = None
    if found.boundary is not None and not _is_excluded(found.boundary, excluded, boundary=True):
        boundary = Source(_managed_name(found.boundary.policy_id), BOUNDARY_WORD, found.boundary.document)
    sim = _simulation(call, params, caller or principal_for(found.entity), identity, boundary)
    _apply_organization(call, sim, include_scps=not excludes_scps(excluded))
    return _simulate(sim, params)


@handler("iam", "SimulateCustomPolicy")
def simulate_custom_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Simulate policies given as text, optionally as a named caller."""
    with call.gateway.db.read() as conn:
        caller = _caller_principal(conn, call.account_id, params.get("CallerArn"))
    if params.get("ResourcePolicy") and caller is None:
        raise InvalidInput("CallerArn must be provided when a resource policy is simulated.")
    principal = caller or Principal(PrincipalType.USER, "", call.account_id)
    sim = _simulation(call, params, principal, [], None)
    for level, entry in enumerate(params.get("OrderedOrganizationPolicyInputList") or [], start=1):
        docs = entry.get("ServiceControlPolicyInputList") or []
        sim.scp_levels.append(
            [Source(f"OrderedOrganizationPolicyInputList.{level}.{i}", None, _valid(d, PolicyType.SCP))
             for i, d in enumerate(docs, start=1)]
        )
    return _simulate(sim, params)


@handler("iam", "GetContextKeysForPrincipalPolicy")
def get_context_keys_for_principal_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The context keys an entity's identity policies (and any extra ones) read."""
    with call.gateway.db.read() as conn:
        found = _source_policies(conn, call.account_id, params["PolicySourceArn"])
    extra = [_valid(d, PolicyType.IDENTITY) for d in params.get("PolicyInputList") or []]
    return {"ContextKeyNames": context_keys([*(s.document for s in found.identity), *extra])}


@handler("iam", "GetContextKeysForCustomPolicy")
def get_context_keys_for_custom_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The context keys the given policies read."""
    documents = [_valid(d, PolicyType.IDENTITY) for d in params.get("PolicyInputList") or []]
    return {"ContextKeyNames": context_keys(documents)}


# --- building a simulation ------------------------------------------------------------------


def _simulation(
    call: Call, params: Mapping[str, Any], principal: Principal, identity: list[Source], boundary: Source | None
) -> Simulation:
    """The parts both Simulate operations share: inputs, boundary input, resource policy, context."""
    for n, document in enumerate(params.get("PolicyInputList") or [], start=1):
        identity.append(Source(f"PolicyInputList.{n}", IDENTITY_WORD, _valid(document, PolicyType.IDENTITY)))
    boundaries = params.get("PermissionsBoundaryPolicyInputList") or []
    if len(boundaries) > 1:
        raise InvalidInput("Only one permissions boundary policy can be simulated.")
    if boundaries:
        boundary = Source("PermissionsBoundaryPolicyInputList.1", BOUNDARY_WORD,
                          _valid(boundaries[0], PolicyType.BOUNDARY))
    resource = None
    if params.get("ResourcePolicy"):
        resource = Source("ResourcePolicy", RESOURCE_WORD, _valid(params["ResourcePolicy"], PolicyType.RESOURCE))
    option = params.get("ResourceHandlingOption")
    if option is not None and option not in _HANDLING_OPTIONS:
        raise InvalidInput(f"Invalid ResourceHandlingOption: {option}")
    return Simulation(
        principal, identity, boundary, resource,
        context=context_values(params.get("ContextEntries") or []),
        resource_owner=_owner_account(params.get("ResourceOwner")),
    )


def _apply_organization(call: Call, sim: Simulation, include_scps: bool) -> None:
    """Govern the simulation as the gateway governs the account: its SCPs and org keys (RCPs: not simulated).

    ContextEntries the caller gives win over the org keys filled in here.
    """
    found = account_organization(call, sim.principal)
    if found is None:
        return
    sim.principal = found.principal
    sim.in_organization = True
    sim.org_scp_levels = found.scp_levels if include_scps else ()
    sim.context = {**found.principal_keys, **sim.context}
    sim.resource_org_context = dict(found.resource_keys)


def _valid(document: str, policy_type: PolicyType) -> str:
    """The document, or InvalidInput with the engine's (IAM's) words for what is wrong."""
    try:
        validate_policy(document, policy_type)
    except MalformedPolicyDocument as bad:
        raise InvalidInput(bad.message) from None
    return document


def _owner_account(value: str | None) -> str | None:
    """ResourceOwner: an account's ARN (arn:aws:iam::<id>:root) or its bare id."""
    if not value:
        return None
    parts = value.split(":")
    account = parts[4] if value.startswith("arn:") and len(parts) >= 6 else value
    if not (account.isdigit() and len(account) == 12):
        raise InvalidInput(f"Invalid ResourceOwner: {value}")
    return account


def _parse_entity_arn(arn: str) -> tuple[str, str, str]:
    """(account, kind, name) of an IAM user, group or role ARN; InvalidInput otherwise."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "iam":
        raise InvalidInput(f"ARN {arn} is not valid.")
    kind, _, rest = parts[5].partition("/")
    if kind not in _PRINCIPAL_KINDS or not rest:
        raise InvalidInput(f"ARN {arn} is not valid.")
    return parts[4], kind, rest.rsplit("/", 1)[-1]


def _source_policies(conn: authz.Conn, account_id: str, arn: str) -> authz.IdentityPolicies:
    """The PolicySourceArn's policies, gathered as the gateway gathers them; NoSuchEntity if unknown."""
    account, kind, name = _parse_entity_arn(arn)
    found = authz.identity_policies(conn, account_id, kind, name) if account == account_id else None
    if found is None or found.entity.arn != arn:
        # The ARN must be the entity's own, path included: authorization was asked about this ARN,
        # so answering for a same-named entity elsewhere would let a caller choose what is checked.
        raise NoSuchEntity(store.no_such_message(kind, name))
    return found


def _caller_principal(conn: authz.Conn, account_id: str, arn: str | None) -> Principal | None:
    """The principal a CallerArn names (a user, group or role ARN); None when not given."""
    if not arn:
        return None
    account, kind, name = _parse_entity_arn(arn)
    entity = store.get_entity(conn, account_id, kind, name) if account == account_id else None
    if entity is not None and entity.arn == arn:
        return principal_for(entity)
    return Principal(PrincipalType.USER, arn, account)


def principal_for(entity: store.Entity) -> Principal:
    """The principal whose request is simulated for an entity.

    A user is the gateway's own principal for that user (authz.user_principal_of).
    A role is simulated as a session of that role: PrincipalType.ASSUMED_ROLE
    with the role ARN both as the caller and as the session issuer (so
    aws:PrincipalArn is the role ARN and resource policies naming the role
    match, as for a real session), the role's tags and id, and no aws:username.
    A group is no principal at all: it is simulated as a USER with the group's
    ARN, so its policies are evaluated as a member's would be.
    """
    if entity.kind == store.USER:
        return authz.user_principal_of(entity)
    if entity.kind == store.ROLE:
        return Principal(PrincipalType.ASSUMED_ROLE, entity.arn, entity.account_id, session_issuer_arn=entity.arn,
                         tags=entity.tag_map, user_id=entity.entity_id)
    return Principal(PrincipalType.USER, entity.arn, entity.account_id)


def _managed_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _entity_source(source: authz.PolicySource) -> Source:
    """A gathered policy under AWS's SourcePolicyId: ``<kind>_<owner>_<name>`` inline, the name if managed."""
    if source.source_type in _PRINCIPAL_KINDS:
        return Source(f"{source.source_type}_{source.owner}_{source.policy_id}", IDENTITY_WORD, source.document)
    return Source(_managed_name(source.policy_id), IDENTITY_WORD, source.document)


def _is_excluded(source: authz.PolicySource, exclusions: Sequence[Mapping[str, Any]], boundary: bool = False) -> bool:
    """Whether a PolicyExclusionList entry names this policy (SCP and RCP entries name none here)."""
    return any(_names(entry, source, boundary) for entry in exclusions)


def _names(entry: Mapping[str, Any], source: authz.PolicySource, boundary: bool) -> bool:
    """One PolicyIdentifier against one gathered policy: by type, by ARN (``*`` allowed), or inline by name."""
    kind, arn, inline = entry.get("PolicyType"), entry.get("PolicyArn"), entry.get("InlinePolicyIdentifier")
    if kind in ("scp", "rcp") or (kind is None and arn is None and inline is None):
        return False
    if boundary or kind == "permission-boundary":
        return boundary and kind in (None, "permission-boundary") and inline is None and (
            arn is None or _arn_matches(arn, source.policy_id))
    is_inline = source.source_type in _PRINCIPAL_KINDS
    if inline is not None:
        return kind in (None, "inline") and is_inline and (
            source.source_type == inline.get("AttachmentType")
            and (source.owner or "").lower() == str(inline.get("AttachmentName", "")).lower()
            and source.policy_id == inline.get("PolicyName"))
    if (kind == "inline") != is_inline and kind is not None:
        return False
    if kind in ("aws-managed", "user-managed") and source.source_type != kind:
        return False
    return arn is None or (not is_inline and _arn_matches(arn, source.policy_id))


def _arn_matches(pattern: str, arn: str) -> bool:
    """A PolicyArn exclusion: the ARN itself, or a pattern with ``*`` wildcards."""
    return fnmatch.fnmatchcase(arn, pattern.replace("[", "[[]"))


# --- evaluating -------------------------------------------------------------------------------


def _compile(sim: Simulation) -> Compiled:
    """The simulation's policy sets, compiled once per call."""
    identity = tuple(sim.compile(s, PolicyType.IDENTITY) for s in sim.identity)
    boundary = sim.compile(sim.boundary, PolicyType.BOUNDARY) if sim.boundary else None
    resource = sim.compile(sim.resource, PolicyType.RESOURCE) if sim.resource else None
    scps = tuple(tuple(sim.compile(s, PolicyType.SCP) for s in level) for level in sim.scp_levels)
    base = PolicySet(identity=identity, boundary=boundary, scp_levels=sim.org_scp_levels + scps)
    boundary_alone = PolicySet(identity=(sim.compile(sim.boundary, PolicyType.IDENTITY),)) if sim.boundary else None
    resource_alone = PolicySet(resource=resource) if resource else None
    return Compiled(base, resource, PolicySet(identity=identity), boundary_alone, resource_alone)


def _simulate(sim: Simulation, params: Mapping[str, Any]) -> dict[str, Any]:
    """Evaluate every action on every resource; one paged EvaluationResult per action."""
    compiled = _compile(sim)
    given = params.get("ResourceArns")
    resources = list(given) if given else ["*"]
    actions = list(enumerate(params.get("ActionNames") or []))
    page, extra = store.page(actions, dict(params), key=lambda item: f"{item[0]:08d}")
    results = [_action_result(sim, compiled, action, resources, bool(given)) for _, action in page]
    return {"EvaluationResults": results, **extra}


def _owner(sim: Simulation, resource: str) -> str:
    """The resource's account: from its ARN, else ResourceOwner, else the caller's."""
    parts = resource.split(":")
    if resource.startswith("arn:") and len(parts) >= 6 and parts[4]:
        return parts[4]
    return sim.resource_owner or sim.principal.account


def _ask(principal: Principal, policies: PolicySet, action: str, facts: ResourceFacts,
         context: Mapping[str, ContextValue]) -> Decision:
    return decide(Subject(principal, policies), action, facts, context)


def _outcome(sim: Simulation, compiled: Compiled, action: str, resource: str) -> Outcome:
    """One (action, resource) question, asked the gateway's way, plus each layer alone."""
    owner = _owner(sim, resource)
    facts = ResourceFacts(resource, policy=compiled.resource, account=owner)
    context = sim.context
    if sim.resource_org_context and owner == sim.principal.account:
        context = {**sim.resource_org_context, **context}
    decision = _ask(sim.principal, compiled.base, action, facts, context)
    own = ResourceFacts(resource, account=sim.principal.account)
    boundary_ok = None
    if compiled.boundary_alone is not None:
        boundary_ok = _ask(sim.principal, compiled.boundary_alone, action, own, sim.context).allowed
    organizations_ok = None
    if compiled.base.scp_levels or sim.in_organization:
        organizations_ok = decision.blocked_by is not PolicyType.SCP and not any(
            ref.policy_type is PolicyType.SCP for ref in decision.deciding if ref.effect == "Deny")
    details = None
    if owner != sim.principal.account:
        details = {IDENTITY_WORD: _WORDS[_ask(sim.principal, compiled.identity_alone, action, own, sim.context).kind]}
        if compiled.resource_alone is not None:
            details[RESOURCE_WORD] = _WORDS[_ask(sim.principal, compiled.resource_alone, action, own, sim.context).kind]
        if compiled.boundary_alone is not None:
            details[BOUNDARY_WORD] = "allowed" if boundary_ok else "implicitDeny"
    # MatchedStatements has no source type for an SCP: the account's SCPs show in OrganizationsDecisionDetail.
    matched = tuple(_statement(sim, ref) for ref in decision.deciding
                    if ref.policy_id in sim.by_id and sim.by_id[ref.policy_id].type_word)
    return Outcome(resource, _WORDS[decision.kind], matched, decision.missing_context_keys, boundary_ok,
                   organizations_ok, details)


def _statement(sim: Simulation, ref: StatementRef) -> dict[str, Any]:
    """A MatchedStatements entry: which policy, of which type, and where in its text."""
    source = sim.by_id[ref.policy_id]
    entry: dict[str, Any] = {"SourcePolicyId": source.source_id, "SourcePolicyType": source.type_word}
    position = sim.position(ref)
    if position is not None:
        entry["StartPosition"], entry["EndPosition"] = position
    return entry


def _action_result(
    sim: Simulation, compiled: Compiled, action: str, resources: list[str], given: bool
) -> dict[str, Any]:
    """The aggregate EvaluationResult of one action over all requested resources."""
    outcomes = [_outcome(sim, compiled, action, r) for r in resources]
    word = max((o.word for o in outcomes), key=_SEVERITY.__getitem__)
    matched = _unique(m for o in outcomes if o.word == word for m in o.matched)
    missing = list(dict.fromkeys(k for o in outcomes for k in o.missing))
    named = [r for r in resources if r != "*"]
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resource_template(action, named) if named else "*",
        "EvalDecision": word,
        "MatchedStatements": matched,
        "MissingContextValues": missing,
    }
    _add_details(result, outcomes, given)
    if given:
        result["ResourceSpecificResults"] = [_resource_result(o) for o in outcomes]
    return result


def _add_details(result: dict[str, Any], outcomes: list[Outcome], given: bool) -> None:
    """Boundary, Organizations and cross-account details, each aggregated over the resources."""
    if outcomes[0].boundary_ok is not None:
        result["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": all(o.boundary_ok for o in outcomes)}
    if outcomes[0].organizations_ok is not None:
        result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": all(o.organizations_ok for o in outcomes)}
    crossing = [o.details for o in outcomes if o.details is not None]
    if crossing:
        worst: dict[str, str] = {}
        for details in crossing:
            for kind, word in details.items():
                if _SEVERITY[word] >= _SEVERITY.get(worst.get(kind, "allowed"), 0):
                    worst[kind] = word
        result["EvalDecisionDetails"] = worst
    elif given:
        result["EvalDecisionDetails"] = {}


def _resource_result(outcome: Outcome) -> dict[str, Any]:
    """A ResourceSpecificResults entry."""
    result: dict[str, Any] = {
        "EvalResourceName": outcome.resource,
        "EvalResourceDecision": outcome.word,
        "MatchedStatements": list(outcome.matched),
        "MissingContextValues": list(outcome.missing),
    }
    if outcome.details is not None:
        result["EvalDecisionDetails"] = outcome.details
    if outcome.boundary_ok is not None:
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": outcome.boundary_ok}
    return result


def _unique(entries: Any) -> list[dict[str, Any]]:
    """Matched statements once each, in first-seen order."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry in entries:
        key = (entry["SourcePolicyId"], entry["SourcePolicyType"], str(entry.get("StartPosition")))
        seen.setdefault(key, entry)
    return list(seen.values())
