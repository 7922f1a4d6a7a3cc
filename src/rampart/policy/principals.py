"""The Principal and NotPrincipal elements of resource-based policies.

How a statement names the caller matters, not only whether it does: per the IAM
pages "Policy evaluation logic" and "Session policies", a grant to the exact
principal (user ARN, role-session ARN, federated-user ARN, "*") is not limited by
the caller's permissions boundary or session policy; a grant to the role (or to
the IAM user behind a federated session) is; a grant to the account only
delegates to the account's own identity-based policies.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from rampart.policy.model import Principal, PrincipalType

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT_ARN = re.compile(r"^arn:[\w-]+:iam::(\d{12}):root$")
PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")


class Grant(enum.IntEnum):
    """How a matching statement named the caller; a higher value is a more direct grant."""

    ACCOUNT = 1
    ISSUER = 2
    EXACT = 3


def as_list(value: object) -> list[object]:
    """Policy elements take one value or a list of them."""
    return value if isinstance(value, list) else [value]


class PrincipalSpec:
    """A compiled Principal (or NotPrincipal) element."""

    __slots__ = ("accounts", "arns", "canonical", "everyone", "federated", "services")

    def __init__(self, element: object) -> None:
        self.everyone = False
        self.accounts: set[str] = set()
        self.arns: set[str] = set()
        self.services: set[str] = set()
        self.federated: set[str] = set()
        self.canonical: set[str] = set()
        if element == "*":
            self.everyone = True
            return
        if not isinstance(element, dict):
            raise ValueError("Principal must be \"*\" or an object")
        for kind, values in element.items():
            self._add(kind, as_list(values))

    def _add(self, kind: str, values: Iterable[object]) -> None:
        if kind not in PRINCIPAL_KINDS or not all(isinstance(v, str) for v in values):
            raise ValueError(f"bad principal {kind}")
        for value in values:
            assert isinstance(value, str)
            if kind == "AWS":
                self._add_aws(value)
            elif kind == "Service":
                self.services.add(value.lower())
            elif kind == "Federated":
                self.federated.add(value)
            else:
                self.canonical.add(value)

    def _add_aws(self, value: str) -> None:
        root = _ROOT_ARN.match(value)
        if value == "*":
            self.everyone = True
        elif _ACCOUNT_ID.match(value):
            self.accounts.add(value)
        elif root:
            self.accounts.add(root.group(1))
        else:
            self.arns.add(value)

    def grant(self, p: Principal) -> Grant | None:
        """How this element names ``p``, or None when it does not."""
        if self.everyone:
            return Grant.EXACT
        if p.federated_provider and p.federated_provider in self.federated:
            return Grant.EXACT
        if p.type is PrincipalType.SERVICE:
            return Grant.EXACT if p.arn.lower() in self.services else None
        if p.type is PrincipalType.ANONYMOUS:
            return None
        if p.arn in self.arns or (p.canonical_user_id and p.canonical_user_id in self.canonical):
            return Grant.EXACT
        if p.session_issuer_arn and p.session_issuer_arn in self.arns:
            return Grant.ISSUER
        if p.account in self.accounts:
            return Grant.EXACT if p.type is PrincipalType.ROOT else Grant.ACCOUNT
        return None

    def excludes(self, p: Principal) -> bool:
        """Whether NotPrincipal spares ``p``.

        Per "AWS JSON policy elements: NotPrincipal", a Deny spares a caller only
        when the element lists its account too (otherwise the whole account is
        denied); an account entry alone spares only the root user.
        """
        if self.everyone:
            return True
        if p.type is PrincipalType.SERVICE:
            return p.arn.lower() in self.services
        if p.type is PrincipalType.ANONYMOUS:
            return False
        if p.account not in self.accounts:
            return False
        if p.type is PrincipalType.ROOT:
            return True
        return p.arn in self.arns or (p.session_issuer_arn is not None and p.session_issuer_arn in self.arns)
