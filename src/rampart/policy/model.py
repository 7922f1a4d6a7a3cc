"""The request, policy-set and decision types the engine trades in.

They are plain frozen dataclasses so the gateway, the IAM simulate APIs and the
CloudTrail recorder can build and read them without knowing how evaluation works.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from rampart.policy.compiler import CompiledPolicy

ContextValue = Union[str, bool, int, float, Sequence[str]]


class PolicyType(enum.Enum):
    """Where a policy is attached; it decides both validation and its role in evaluation."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"
    KMS_KEY = "kms-key"


class PrincipalType(enum.Enum):
    """The kinds of caller AWS distinguishes when it evaluates a request."""

    ROOT = "root"
    USER = "user"
    ASSUMED_ROLE = "assumed-role"
    FEDERATED_USER = "federated-user"
    SERVICE = "service"
    ANONYMOUS = "anonymous"


# aws:PrincipalType values, as documented on the global condition keys page.
_AWS_PRINCIPAL_TYPE = {
    PrincipalType.ROOT: "Account",
    PrincipalType.USER: "User",
    PrincipalType.ASSUMED_ROLE: "AssumedRole",
    PrincipalType.FEDERATED_USER: "FederatedUser",
    PrincipalType.ANONYMOUS: "Anonymous",
}


@dataclass(frozen=True)
class Principal:
    """Who is calling.

    ``arn`` is the caller's own ARN (the role-session ARN for an assumed role, the
    service name such as ``ec2.amazonaws.com`` for a service principal);
    ``session_issuer_arn`` is the role (or, for a federated user, the IAM user)
    behind a session, which resource policies may name instead of the session.
    """

    type: PrincipalType
    arn: str = ""
    account: str = ""
    session_issuer_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    user_id: str | None = None
    username: str | None = None
    federated_provider: str | None = None
    canonical_user_id: str | None = None
    is_service_linked_role: bool = False
    in_management_account: bool = False

    _rampart_token = 0  # not a field: the engine's cache token, set in the instance's __dict__ on first use

    @property
    def root_arn(self) -> str:
        """The account principal ARN, which policies use to name the whole account."""
        partition = self.arn.split(":", 2)[1] if self.arn.startswith("arn:") else "aws"
        return f"arn:{partition}:iam::{self.account}:root"


class Context(dict):
    """Request context keys, looked up case-insensitively as AWS does.

    A dict of lower-cased key -> tuple of strings, so single- and multi-valued
    keys go through the same code and the engine's lookups (``get`` with a key
    already lower-cased) are plain dict lookups. ``in`` and ``[]`` fold case.
    """

    __slots__ = ()

    def __init__(self, values: Mapping[str, ContextValue] | None = None) -> None:
        super().__init__()
        for key, value in (values or {}).items():
            self[key.lower()] = _as_strings(value)

    def setdefault(self, key: str, value: ContextValue) -> None:  # type: ignore[override]
        """Add a derived key unless the caller supplied it."""
        dict.setdefault(self, key.lower(), _as_strings(value))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, key.lower())

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return dict.__getitem__(self, key.lower())

    def __repr__(self) -> str:
        return f"Context({dict.__repr__(self)})"


def _as_strings(value: ContextValue) -> tuple[str, ...]:
    """Normalise a context value: booleans the way AWS writes them, lists as tuples."""
    kind = type(value)
    if kind is str:
        return (value,)  # type: ignore[return-value]
    if kind is bool:
        return ("true" if value else "false",)
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, (str, int, float)):
        return (str(value),)
    return tuple("true" if v is True else "false" if v is False else str(v) for v in value)  # type: ignore[union-attr]


_NO_CONTEXT: Mapping[str, ContextValue] = {}


class _DerivedKeys:
    """``RequestContext.keys``: built on first use, then a plain instance attribute.

    A non-data descriptor: once ``__get__`` stores the Context in the instance's
    ``__dict__``, that entry shadows the descriptor, so later reads are one
    attribute lookup instead of a property call.
    """

    def __get__(self, request: RequestContext | None, owner: type) -> dict[str, tuple[str, ...]]:
        """Derive the keys once per request object."""
        if request is None:
            return self  # type: ignore[return-value]
        found = request.__dict__["keys"] = _derived_context(request)
        return found


@dataclass(frozen=True, init=False)
class RequestContext:
    """One authorization question: may ``principal`` do ``action`` on ``resource``?

    ``resource`` is an ARN or ``"*"`` for actions without resource-level
    permissions. ``resource_account`` defaults to the principal's account.
    Keys that follow from the principal (aws:PrincipalArn, aws:username,
    aws:PrincipalTag/..., ...) are derived unless given in ``context``.
    The gateway builds one per request, so construction only stores the fields;
    ``keys`` (a plain dict: lower-cased key -> tuple of strings, the caller's
    derived keys included) is built on first use and is then an ordinary attribute.
    """

    principal: Principal
    action: str
    resource: str = "*"
    resource_account: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    resource_in_management_account: bool | None = None

    def __init__(self, principal: Principal, action: str, resource: str = "*", resource_account: str | None = None,
                 context: Mapping[str, ContextValue] | None = None,
                 resource_in_management_account: bool | None = None) -> None:
        fields = self.__dict__  # frozen: write the fields directly, once
        fields["principal"] = principal
        fields["action"] = action
        fields["resource"] = resource
        fields["resource_account"] = resource_account
        fields["context"] = {} if context is None else context
        fields["resource_in_management_account"] = resource_in_management_account
        fields["action_lc"] = action.lower()

    if TYPE_CHECKING:
        action_lc: str
        keys: dict[str, tuple[str, ...]]  # lower-cased context keys plus those derived from the caller
    else:
        keys = _DerivedKeys()

    @property
    def owning_account(self) -> str:
        """The account that owns the resource (the caller's when not given)."""
        return self.resource_account or self.principal.account

    @property
    def same_account(self) -> bool:
        """Whether caller and resource live in one account (not so for anonymous callers)."""
        if self.principal.type is PrincipalType.ANONYMOUS:
            return False
        return self.owning_account == self.principal.account


def _derived_context(request: RequestContext) -> dict[str, tuple[str, ...]]:
    """The request's keys plus those AWS always derives from the caller (which the request may override).

    A plain dict of lower-cased key -> tuple of strings: the caller's keys are
    copied (a C-level clone), then each request key is folded through a bounded
    cache of spellings, since gateways send the same few spellings every time.
    """
    keys = _principal_keys(request.principal).copy()
    spellings = _SPELLINGS
    for key, value in request.context.items():
        low = spellings.get(key)
        if low is None:
            low = _spelling(key)
        if type(value) is str:
            keys[low] = (value,)
        elif value is True or value is False:
            keys[low] = _TRUE if value else _FALSE
        else:
            keys[low] = _as_strings(value)
    owning = request.resource_account or request.principal.account
    if owning:
        keys.setdefault("aws:resourceaccount", (owning,))
    return keys


_SPELLINGS: dict[str, str] = {}
_SPELLING_LIMIT = 4096


def _spelling(key: str) -> str:
    """Lower-case a context key once per spelling (bounded: request tag keys are the caller's choice)."""
    if len(_SPELLINGS) >= _SPELLING_LIMIT:
        _SPELLINGS.clear()
    low = _SPELLINGS[key] = key.lower()
    return low


_TRUE, _FALSE = ("true",), ("false",)


def _principal_keys(p: Principal) -> Context:
    """The keys that follow from the caller alone, derived once per Principal object."""
    found = p.__dict__.get("_rampart_keys")
    if found is not None:
        return found
    keys = Context()
    if p.type is PrincipalType.SERVICE:
        keys.setdefault("aws:PrincipalServiceName", p.arn)
        keys.setdefault("aws:PrincipalIsAWSService", True)
    elif p.type is not PrincipalType.ANONYMOUS:
        keys.setdefault("aws:PrincipalArn", p.session_issuer_arn if p.type is PrincipalType.ASSUMED_ROLE and p.session_issuer_arn else p.arn)
        keys.setdefault("aws:PrincipalAccount", p.account)
        keys.setdefault("aws:PrincipalIsAWSService", False)
    if p.type in _AWS_PRINCIPAL_TYPE:
        keys.setdefault("aws:PrincipalType", _AWS_PRINCIPAL_TYPE[p.type])
    if p.username is not None:
        keys.setdefault("aws:username", p.username)
    if p.user_id is not None:
        keys.setdefault("aws:userid", p.user_id)
    for tag, value in p.tags.items():
        keys.setdefault(f"aws:PrincipalTag/{tag}", value)
    p.__dict__["_rampart_keys"] = keys  # frozen dataclass: cache beside the fields
    return keys


@dataclass(frozen=True)
class PolicySet:
    """Every policy that applies to one request, grouped by the role it plays.

    ``scp_levels`` / ``rcp_levels`` run from the organization root through the
    OUs to the account: each level must allow. An empty sequence means the
    account is not governed by that policy type at all. ``resource_must_allow``
    marks KMS key policies and role trust policies, which must grant explicitly;
    left as None it follows the resource policy's type.
    """

    identity: Sequence[CompiledPolicy] = ()
    resource: CompiledPolicy | None = None
    boundary: CompiledPolicy | None = None
    session: Sequence[CompiledPolicy] = ()
    scp_levels: Sequence[Sequence[CompiledPolicy]] = ()
    rcp_levels: Sequence[Sequence[CompiledPolicy]] = ()
    resource_must_allow: bool | None = None

    _rampart_token = 0  # not a field: the engine's cache token, set in the instance's __dict__ on first use

    @property
    def must_allow_explicitly(self) -> bool:
        """Whether the resource policy alone gates access (KMS keys, role trust)."""
        if self.resource_must_allow is not None:
            return self.resource_must_allow
        return self.resource is not None and self.resource.policy_type in (PolicyType.KMS_KEY, PolicyType.TRUST)


class DecisionKind(enum.Enum):
    """AWS's three outcomes; only ALLOWED lets a call through."""

    ALLOWED = "Allowed"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class StatementRef:
    """Names one statement for explanations: policy id, Sid, effect and policy type."""

    policy_id: str
    sid: str | None
    effect: str
    policy_type: PolicyType
    index: int


@dataclass(frozen=True)
class Decision:
    """The engine's answer and its explanation.

    ``deciding`` lists the statements that allowed or explicitly denied;
    ``blocked_by`` names the policy type that stopped the request (for AWS's
    AccessDenied wording); ``missing_context_keys`` are condition keys a matching
    statement needed but the request lacked (SimulatePrincipalPolicy reports them).
    """

    kind: DecisionKind
    deciding: tuple[StatementRef, ...] = ()
    blocked_by: PolicyType | None = None
    missing_context_keys: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """True only for an explicit, unblocked allow."""
        return self.kind is DecisionKind.ALLOWED
