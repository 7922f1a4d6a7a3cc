"""The Call: everything a handler may know about the request it serves."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart.gateway.context import Gateway


@dataclass(slots=True)
class Caller:
    """Who is calling: the authenticated principal, or anonymous.

    ``principal`` is the store's principal record (``rampart.accounts.PrincipalRef``
    for long-term keys); ``None`` means an anonymous request.
    """

    account_id: str | None = None
    principal: Any = None
    access_key_id: str | None = None
    session_token: str | None = None
    source_ip: str = "127.0.0.1"
    user_agent: str = ""

    @property
    def arn(self) -> str | None:
        """The principal's ARN, or None when anonymous."""
        return getattr(self.principal, "arn", None)

    @property
    def is_root(self) -> bool:
        """True for an account's root user."""
        return getattr(self.principal, "kind", None) == "root"


@dataclass(slots=True)
class Call:
    """One request flowing through the pipeline.

    ``authorized`` is set by the authorize step only; dispatching a call that
    was never authorized is a bug and raises (fail closed).
    """

    gateway: Gateway
    received_at: dt.datetime
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    service: str | None = None
    operation: str | None = None
    protocol: str | None = None
    region: str = "us-east-1"
    caller: Caller = field(default_factory=Caller)
    authorized: bool = False

    @property
    def account_id(self) -> str | None:
        """The account the call acts in (the caller's)."""
        return self.caller.account_id
