"""The request context as the original engine built it (a frozen copy, for the oracle)."""

from __future__ import annotations

from collections.abc import Mapping

from rampart.policy.model import PrincipalType, RequestContext

_AWS_PRINCIPAL_TYPE = {
    PrincipalType.ROOT: "Account",
    PrincipalType.USER: "User",
    PrincipalType.ASSUMED_ROLE: "AssumedRole",
    PrincipalType.FEDERATED_USER: "FederatedUser",
    PrincipalType.ANONYMOUS: "Anonymous",
}


class Context:
    """Request context keys, looked up case-insensitively, every value a tuple of strings."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping | None = None) -> None:
        self._values: dict[str, tuple[str, ...]] = {}
        for key, value in (values or {}).items():
            self._values[key.lower()] = _as_strings(value)

    def get(self, key_lc: str):
        return self._values.get(key_lc)

    def setdefault(self, key: str, value) -> None:
        self._values.setdefault(key.lower(), _as_strings(value))


def _as_strings(value) -> tuple[str, ...]:
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, (str, int, float)):
        return (str(value),)
    return tuple("true" if v is True else "false" if v is False else str(v) for v in value)


class OracleRequest:
    """A RequestContext's public fields plus the keys the original engine derived."""

    def __init__(self, request: RequestContext) -> None:
        self.principal = request.principal
        self.action_lc = request.action.lower()
        self.resource = request.resource
        self.resource_in_management_account = request.resource_in_management_account
        self.owning_account = request.resource_account or request.principal.account
        self.same_account = (request.principal.type is not PrincipalType.ANONYMOUS
                             and self.owning_account == request.principal.account)
        self.keys = _derived(request, self.owning_account)


def _derived(request: RequestContext, owning_account: str) -> Context:
    keys = Context(request.context)
    p = request.principal
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
    if owning_account:
        keys.setdefault("aws:ResourceAccount", owning_account)
    return keys
