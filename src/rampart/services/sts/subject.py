"""Session callers as the engine sees them, and the role an assume call names.

Installed into IAM's authorizer (``iam.authz.SESSION_HOOKS``) when STS is
wired. A role session gets the role's identity policies and boundary, its
session policies (PolicySet.session: the intersection), the session tags over
the role's tags as principal tags, and session_issuer_arn = the role; a
federated user gets the IAM user's policies cut down by the session policies
(none passed: no permissions, as AWS does); a GetSessionToken session gets the
user's own. The session's keys (aws:TokenIssueTime, aws:MultiFactorAuthPresent,
aws:MultiFactorAuthAge, aws:SourceIdentity, claims) are added per request.

Fail closed: a deleted role or user (or one re-created under the same name,
with a new unique id) leaves the session with no rights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rampart.gateway.authorize import ResourceFacts, Subject
from rampart.gateway.call import Call
from rampart.policy import (
    CompiledPolicy,
    PolicySet,
    PolicyType,
    Principal,
    PrincipalType,
    compile_policy,
)
from rampart.services.iam import store
from rampart.services.iam.authz import (
    IamAuthz,
    compile_identity,
    identity_policies,
    own_password_grant,
    user_principal_of,
    with_source,
)
from rampart.services.iam.passwords import users_may_change_own_password
from rampart.services.sts.assume import find_role, role_account, trust_facts
from rampart.services.sts.sessions import SessionSpec, session_context

NOTHING = '{"Version": "2012-10-17", "Statement": []}'
EVERYTHING = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
# STS operations each kind of session may still call (GetCallerIdentity needs no permission at all);
# the token operations pass so that their handlers answer with AWS's own refusal.
_TOKEN_OPERATIONS = frozenset({"GetSessionToken", "GetFederationToken"})
_STS_ALLOWED = {"user": _TOKEN_OPERATIONS | {"AssumeRole"}, "federated-user": _TOKEN_OPERATIONS}


@dataclass(frozen=True, slots=True)
class _Base:
    """What stays the same across a session's requests (cached): principal and policies."""

    principal: Principal
    policies: PolicySet


def session_subject(authz: IamAuthz, call: Call) -> Subject | None:
    """The subject of a caller with temporary credentials (None: no rights)."""
    principal = call.caller.principal
    spec: SessionSpec = principal.session
    key = (spec.account_id, "session", principal.access_key_id)
    base = authz.cache.get(key)
    if base is None:
        with authz.gateway.db.read() as conn:
            base = _load(conn, spec)
        if base is None:
            return None
        authz.cache.put(key, base)
    context = session_context(spec, call.received_at)
    if _walled_off(spec, call):
        return Subject(base.principal, PolicySet(), context)
    return Subject(base.principal, base.policies, context)


def _walled_off(spec: SessionSpec, call: Call) -> bool:
    """AWS's limits on what sessions may call, whatever their policies say.

    GetFederationToken credentials cannot call IAM or STS; GetSessionToken
    credentials cannot call IAM without MFA, nor STS beyond AssumeRole.
    """
    allowed_sts = _STS_ALLOWED.get(spec.kind)
    if allowed_sts is None:
        return False
    if call.service == "sts":
        return call.operation not in allowed_sts
    if call.service == "iam":
        return spec.kind == "federated-user" or not spec.mfa_authenticated
    return False


def _load(conn: Any, spec: SessionSpec) -> _Base | None:
    if spec.kind == "assumed-role":
        return _role_session(conn, spec)
    if spec.kind == "federated-user":
        return _federated_user(conn, spec)
    if spec.kind == "user":
        return _user_session(conn, spec)
    return None


def session_policies(spec: SessionSpec, *, required: bool = False) -> tuple[CompiledPolicy, ...]:
    """The session's policies compiled (inline first, then managed by ARN); ``required``: none means nothing."""
    documents = spec.session_policies
    inline = len(documents) - len(spec.policy_arns)
    names = ["SessionPolicy"] * inline + list(spec.policy_arns)
    compiled = tuple(compile_policy(doc, name, PolicyType.SESSION) for doc, name in zip(documents, names))
    if not compiled and required:
        return (compile_policy(NOTHING, "SessionPolicy", PolicyType.SESSION),)
    return compiled


def _role_session(conn: Any, spec: SessionSpec) -> _Base | None:
    role = store.get_entity(conn, spec.account_id, store.ROLE, spec.issuer_name or "")
    if role is None or role.arn != spec.issuer_arn or not spec.user_id.startswith(role.entity_id + ":"):
        return None
    found = identity_policies(conn, spec.account_id, store.ROLE, role.name)
    if found is None:
        return None
    own = compile_identity(found)
    policies = PolicySet(identity=own.identity, boundary=own.boundary, session=session_policies(spec))
    principal = Principal(
        PrincipalType.ASSUMED_ROLE,
        spec.arn,
        spec.account_id,
        session_issuer_arn=role.arn,
        tags={**role.tag_map, **spec.tags},
        user_id=spec.user_id,
        federated_provider=spec.federated_provider,
        is_service_linked_role=role.path.startswith("/aws-service-role/"),
    )
    return _Base(principal, policies)


def _federated_user(conn: Any, spec: SessionSpec) -> _Base | None:
    """The calling IAM user's policies (root's: everything) intersected with the session policies."""
    tags: dict[str, str] = {}
    if spec.issuer_arn and spec.issuer_arn.endswith(":root"):
        identity: PolicySet = PolicySet(identity=(compile_policy(EVERYTHING, "RootUser", PolicyType.IDENTITY),))
    else:
        user = store.get_entity(conn, spec.account_id, store.USER, spec.issuer_name or "")
        if user is None or user.arn != spec.issuer_arn:
            return None
        found = identity_policies(conn, spec.account_id, store.USER, user.name)
        if found is None:
            return None
        identity, tags = compile_identity(found), user.tag_map
    policies = PolicySet(identity=identity.identity, boundary=identity.boundary,
                         session=session_policies(spec, required=True))
    principal = Principal(
        PrincipalType.FEDERATED_USER,
        spec.arn,
        spec.account_id,
        session_issuer_arn=spec.issuer_arn,
        tags={**tags, **spec.tags},
        user_id=spec.user_id,
    )
    return _Base(principal, policies)


def _user_session(conn: Any, spec: SessionSpec) -> _Base | None:
    """A GetSessionToken session: the user itself, with the session's MFA state."""
    user = store.get_entity(conn, spec.account_id, store.USER, spec.issuer_name or "")
    if user is None or user.arn != spec.issuer_arn or user.entity_id != spec.user_id:
        return None
    found = identity_policies(conn, spec.account_id, store.USER, user.name)
    if found is None:
        return None
    if users_may_change_own_password(conn, spec.account_id):
        found = with_source(found, own_password_grant(user.arn))
    return _Base(user_principal_of(user), compile_identity(found))


def role_facts(authz: IamAuthz, call: Call, arn: str) -> ResourceFacts:
    """The role an assume call names, with its trust policy, from whichever account owns it.

    So the gateway's one engine question for sts:AssumeRole (and
    sts:TagSession / sts:SetSourceIdentity on the role) is AWS's: the trust
    policy must allow, and it is the resource policy beside the caller's
    identity policies (same account: either way; across accounts: both).
    An unknown role is described without a policy; the handler refuses it.
    """
    account = role_account(arn)
    if account is None:
        return ResourceFacts(arn)
    key = (account, "trust", arn)
    found = authz.cache.get(key)
    if found is None:
        with authz.gateway.db.read() as conn:
            role = find_role(conn, arn)
        found = trust_facts(role) if role is not None else ResourceFacts(arn, account=account)
        authz.cache.put(key, found)
    return found
