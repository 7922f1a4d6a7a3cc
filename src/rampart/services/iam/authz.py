"""What the authorizer needs from IAM: who a caller is, which policies apply, what a resource is.

``identity_policies`` gathers a user's (inline, attached, and its groups')
or a role's policies and boundary as documents; the simulate APIs and
GetAccountAuthorizationDetails read the same function, so what they report
is what the gateway enforces. The gateway's per-request path goes through
``SubjectCache``, which compiles each principal's policy set once and forgets
an account's entries whenever IAM state of that account changes (and after a
short TTL, for changes made by other server processes).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from rampart.accounts import PrincipalRef
from rampart.aws.catalog import Requirement, action_condition_keys
from rampart.gateway.authorize import (
    ResourceFacts,
    Subject,
    add_requirement_resolver,
    set_context_resolver,
    set_resource_resolver,
    set_subject_resolver,
)
from rampart.gateway.call import Call
from rampart.gateway.registry import on_gateway
from rampart.policy import (
    CompiledPolicy,
    PolicySet,
    PolicyType,
    Principal,
    PrincipalType,
    compile_policy,
)
from rampart.policy.model import ContextValue
from rampart.services.iam import store
from rampart.services.iam.managed import aws_managed_policy
from rampart.services.iam.passwords import users_may_change_own_password
from rampart.services.iam.profiles import profile_roles
from rampart.storage.schema import (
    iam_attachments,
    iam_group_members,
    iam_inline_policies,
    iam_policy_versions,
)

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
CACHE_TTL_SECONDS = 2.0
# Any authenticated caller can make the authorizer describe a resource it names
# (a fresh UserName per request, even without rights), so the cache is bounded.
CACHE_MAX_ENTRIES = 10_000
Conn = Connection | Session


@dataclass(frozen=True, slots=True)
class PolicySource:
    """One policy document that applies to a principal, and where it comes from.

    ``source_type`` uses the simulate APIs' SourcePolicyType words: user,
    group, role (inline policies), aws-managed, user-managed; ``policy_id``
    is the inline policy's name or the managed policy's ARN.
    """

    policy_id: str
    source_type: str
    document: str
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class IdentityPolicies:
    """A user's or role's identity-based policies and permissions boundary."""

    entity: store.Entity
    identity: tuple[PolicySource, ...]
    boundary: PolicySource | None


def managed_document(conn: Conn, account_id: str, arn: str) -> str | None:
    """The default version's document of a managed policy (AWS or customer), or None."""
    if arn.startswith(AWS_MANAGED_PREFIX):
        found = aws_managed_policy(arn)
        return found.document if found else None
    policy = store.get_entity_by_arn(conn, account_id, arn, (store.POLICY,))
    if policy is None:
        return None
    row = conn.execute(
        select(iam_policy_versions.c.document).where(
            iam_policy_versions.c.account_id == account_id,
            iam_policy_versions.c.policy_name == policy.name,
            iam_policy_versions.c.is_default.is_(True),
        )
    ).first()
    return row.document if row else None


def _owner_sources(conn: Conn, account_id: str, kind: str, name: str) -> list[PolicySource]:
    """Inline then attached policies of one user, group or role."""
    inline = conn.execute(
        select(iam_inline_policies.c.policy_name, iam_inline_policies.c.document)
        .where(
            iam_inline_policies.c.account_id == account_id,
            iam_inline_policies.c.owner_kind == kind,
            iam_inline_policies.c.owner_name == name,
        )
        .order_by(iam_inline_policies.c.policy_name)
    ).all()
    sources = [PolicySource(row.policy_name, kind, row.document, name) for row in inline]
    attached = conn.execute(
        select(iam_attachments.c.policy_arn)
        .where(
            iam_attachments.c.account_id == account_id,
            iam_attachments.c.owner_kind == kind,
            iam_attachments.c.owner_name == name,
        )
        .order_by(iam_attachments.c.policy_arn)
    ).all()
    for row in attached:
        document = managed_document(conn, account_id, row.policy_arn)
        if document is not None:
            kind_word = "aws-managed" if row.policy_arn.startswith(AWS_MANAGED_PREFIX) else "user-managed"
            sources.append(PolicySource(row.policy_arn, kind_word, document, name))
    return sources


def group_names(conn: Conn, account_id: str, user_name: str) -> list[str]:
    """The groups a user belongs to, in name order."""
    rows = conn.execute(
        select(iam_group_members.c.group_name)
        .where(iam_group_members.c.account_id == account_id, iam_group_members.c.user_name == user_name)
        .order_by(iam_group_members.c.group_name)
    ).all()
    return [row.group_name for row in rows]


def identity_policies(conn: Conn, account_id: str, kind: str, name: str) -> IdentityPolicies | None:
    """Every identity-based policy of a user (its groups' included) or role, and its boundary."""
    entity = store.get_entity(conn, account_id, kind, name)
    if entity is None:
        return None
    sources = _owner_sources(conn, account_id, kind, entity.name)
    if kind == store.USER:
        for group in group_names(conn, account_id, entity.name):
            sources.extend(_owner_sources(conn, account_id, store.GROUP, group))
    boundary = None
    boundary_arn = entity.data.get("PermissionsBoundary")
    if boundary_arn:
        document = managed_document(conn, account_id, boundary_arn)
        kind_word = "aws-managed" if boundary_arn.startswith(AWS_MANAGED_PREFIX) else "user-managed"
        # A boundary whose policy is gone allows nothing: fail closed with an empty policy.
        boundary = PolicySource(boundary_arn, kind_word, document or '{"Statement": []}', entity.name)
    return IdentityPolicies(entity, tuple(sources), boundary)


def own_password_grant(user_arn: str) -> PolicySource:
    """The account password policy's AllowUsersToChangePassword, as the grant it amounts to.

    AWS lets every IAM user change its own password (and read the policy it
    must satisfy) without an identity policy when the account setting is on.
    """
    document = orjson.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": user_arn},
                {"Effect": "Allow", "Action": "iam:GetAccountPasswordPolicy", "Resource": "*"},
            ],
        }
    ).decode()
    return PolicySource("AllowUsersToChangePassword", "account", document)


def with_source(found: IdentityPolicies, source: PolicySource) -> IdentityPolicies:
    """The same principal's policies with one more identity policy."""
    return IdentityPolicies(found.entity, (*found.identity, source), found.boundary)


def compile_identity(found: IdentityPolicies) -> PolicySet:
    """The engine's PolicySet for a principal's own policies (no resource policy)."""
    identity = tuple(_compile(source, PolicyType.IDENTITY) for source in found.identity)
    boundary = _compile(found.boundary, PolicyType.BOUNDARY) if found.boundary else None
    return PolicySet(identity=identity, boundary=boundary)


def _compile(source: PolicySource, policy_type: PolicyType) -> CompiledPolicy:
    return compile_policy(source.document, source.policy_id, policy_type)


def user_principal_of(entity: store.Entity) -> Principal:
    """The engine's Principal for an IAM user entity."""
    return Principal(
        PrincipalType.USER,
        entity.arn,
        entity.account_id,
        tags=entity.tag_map,
        user_id=entity.entity_id,
        username=entity.name,
    )


def user_principal(conn: Conn, account_id: str, user_name: str) -> PrincipalRef | None:
    """The signing-key principal of an IAM user (AccountStore's resolver): None once deleted."""
    entity = store.get_entity(conn, account_id, store.USER, user_name)
    if entity is None:
        return None
    return PrincipalRef(account_id, "user", entity.name, entity.arn, entity.entity_id)


class SubjectCache:
    """Compiled subjects and resource facts per principal/resource, forgotten on IAM changes."""

    def __init__(self, ttl: float = CACHE_TTL_SECONDS, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}

    def get(self, key: tuple[str, ...]) -> Any:
        """The cached value, or None when absent or stale."""
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: tuple[str, ...], value: Any) -> None:
        """Remember a value for ``ttl`` seconds (keys start with the account id).

        A full cache first drops its stale entries, and everything when that
        frees less than half of it: stale entries are otherwise never removed.
        """
        now = time.monotonic()
        if len(self._entries) >= self.max_entries and key not in self._entries:
            for stale in [k for k, (expires, _) in self._entries.items() if expires < now]:
                del self._entries[stale]
            if len(self._entries) > self.max_entries // 2:
                self._entries.clear()
        self._entries[key] = (now + self.ttl, value)

    def forget_account(self, account_id: str) -> None:
        """Drop everything cached for one account."""
        for key in [k for k in self._entries if k[0] == account_id]:
            del self._entries[key]


@dataclass
class SessionHooks:
    """How STS plugs temporary credentials into IAM's answers (set when STS is wired).

    ``subject`` describes a session caller (the role's or user's policies
    with the session's policies, tags and keys); ``role_facts`` describes the
    role an assume operation in ``trust_operations`` names, trust policy
    included. Unset, a session caller gets no rights (fail closed).
    """

    subject: Callable[[IamAuthz, Call], Subject | None] | None = None
    role_facts: Callable[[IamAuthz, Call, str], ResourceFacts] | None = None
    trust_operations: frozenset[tuple[str, str]] = frozenset()


@dataclass
class IamAuthz:
    """Binds IAM's answers to one gateway's database."""

    gateway: Any
    cache: SubjectCache

    def subject(self, call: Call) -> Subject | None:
        """The caller as the engine sees it; None (deny everything) when unknown."""
        principal: PrincipalRef = call.caller.principal
        if getattr(principal, "session", None) is not None:  # temporary credentials: STS describes them
            hook = SESSION_HOOKS.subject
            return hook(self, call) if hook is not None else None
        if principal.kind != "user" or not principal.name:
            return None
        key = (principal.account_id, "subject", "user", principal.name)
        found = self.cache.get(key)
        if found is None:
            with self.gateway.db.read() as conn:
                policies = identity_policies(conn, principal.account_id, store.USER, principal.name)
                if policies is None:
                    return None
                if users_may_change_own_password(conn, principal.account_id):
                    policies = with_source(policies, own_password_grant(policies.entity.arn))
            found = Subject(user_principal_of(policies.entity), compile_identity(policies))
            self.cache.put(key, found)
        return found

    def resource(self, call: Call, arn: str) -> ResourceFacts:
        """An IAM resource's path-qualified ARN and tags (unknown ones are passed through).

        The role of an sts:AssumeRole call is described by STS (its trust
        policy, in whichever account owns it: see ``SessionHooks``).
        """
        if (call.service, call.operation) in SESSION_HOOKS.trust_operations and SESSION_HOOKS.role_facts:
            return SESSION_HOOKS.role_facts(self, call, arn)
        kind, _, rest = arn.partition(":iam::")[2].partition(":")[2].partition("/")
        account_id = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if not rest or kind not in _RESOURCE_KINDS or account_id != call.account_id:
            return ResourceFacts(arn)
        key = (account_id, "resource", arn)
        found = self.cache.get(key)
        if found is None:
            found = self._load_resource(account_id, kind, rest, arn)
            self.cache.put(key, found)
        return found

    def _load_resource(self, account_id: str, kind: str, rest: str, arn: str) -> ResourceFacts:
        with self.gateway.db.read() as conn:
            if kind in _NAMED_BY_NAME and "/" not in rest:  # the catalog built it from a name: find the path
                entity = store.get_entity(conn, account_id, kind, rest)
            else:  # the request named the ARN itself (policies, MFA devices, providers): exactly that one
                entity = store.get_entity_by_arn(conn, account_id, arn)
        if entity is None:
            return ResourceFacts(arn)
        return ResourceFacts(entity.arn, entity.tag_map, account=account_id,
                             boundary=entity.data.get("PermissionsBoundary"))

    def context(self, call: Call, params: Mapping[str, Any], action: str) -> dict[str, ContextValue]:
        """IAM's own condition keys for one action, where the reference says the action has them.

        iam:PolicyARN names the managed policy being attached or detached;
        iam:PermissionsBoundary is the boundary the request sets, or else the
        one the target user or role already has; iam:AWSServiceName the
        service of a service-linked role.
        """
        supported = condition_keys(action)
        if not supported:
            return {}
        found: dict[str, ContextValue] = {}
        if "iam:policyarn" in supported and params.get("PolicyArn"):
            found["iam:PolicyARN"] = params["PolicyArn"]
        if "iam:awsservicename" in supported and params.get("AWSServiceName"):
            found["iam:AWSServiceName"] = params["AWSServiceName"]
        if "iam:permissionsboundary" in supported:
            boundary = params.get("PermissionsBoundary") or self._current_boundary(call, params)
            if boundary:
                found["iam:PermissionsBoundary"] = boundary
        return found

    def _current_boundary(self, call: Call, params: Mapping[str, Any]) -> str | None:
        for kind, member in ((store.USER, "UserName"), (store.ROLE, "RoleName")):
            name = params.get(member)
            if name:
                facts = self.resource(call, store.arn_for(call.account_id or "", kind, name))
                return facts.boundary
        return None

    def instance_profile_roles(self, call: Call, params: Mapping[str, Any]) -> list[Requirement]:
        """EC2 calls that attach an instance profile pass its role to EC2: iam:PassRole on that role.

        The request names only the profile (IamInstanceProfile {Arn | Name});
        the role in it is IAM state. An unknown profile passes nothing (EC2
        itself refuses it).
        """
        if call.operation not in _PROFILE_OPERATIONS:
            return []
        spec = params.get("IamInstanceProfile")
        if not isinstance(spec, Mapping):
            return []
        name = spec.get("Name") or str(spec.get("Arn") or "").rpartition("/")[2]
        if not name:
            return []
        with self.gateway.db.read() as conn:
            roles = profile_roles(conn, call.account_id or "", name)
        return [Requirement("iam:PassRole", (role.arn,), _PASSED_TO_EC2) for role in roles]

    def changed(self, account_id: str) -> None:
        """IAM state changed: forget cached subjects, resources and signing principals."""
        self.cache.forget_account(account_id)
        accounts = self.gateway.accounts
        if accounts is not None:
            accounts.invalidate()


SESSION_HOOKS = SessionHooks()

_RESOURCE_KINDS = frozenset(
    {store.USER, store.GROUP, store.ROLE, store.POLICY, store.INSTANCE_PROFILE, store.MFA,
     store.OIDC_PROVIDER, store.SAML_PROVIDER}
)


# Kinds the API names by name (UserName, RoleName, ...): the catalog's ARN for them has no path yet.
_NAMED_BY_NAME = frozenset({store.USER, store.GROUP, store.ROLE, store.INSTANCE_PROFILE})
_PROFILE_OPERATIONS = frozenset({"RunInstances", "AssociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation"})
_PASSED_TO_EC2 = (("iam:PassedToService", "ec2.amazonaws.com"),)


@functools.lru_cache(maxsize=4096)
def condition_keys(action: str) -> frozenset[str]:
    """The action's supported condition keys, lower-cased, looked up once per action."""
    return frozenset(key.lower() for key in action_condition_keys(action))


@on_gateway
def wire(gateway: Any) -> None:
    """Plug IAM into a gateway: user principals for SigV4, subjects and resources for authorize."""
    authz = IamAuthz(gateway, SubjectCache())
    if gateway.accounts is not None:
        gateway.accounts.resolve_user = user_principal
        gateway.accounts.on_account_change(authz.cache.forget_account)
    set_subject_resolver(authz.subject)
    set_resource_resolver("iam", authz.resource)
    set_context_resolver("iam", authz.context)
    add_requirement_resolver("ec2", authz.instance_profile_roles)
    store.on_change(authz.changed)
