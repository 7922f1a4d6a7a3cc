"""The Call: everything a handler may know about the request it serves."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart.gateway.context import Gateway


# The variant digit of an RFC 4122 UUID (binary 10xx) for each random hex digit.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


_ids: list[str] = []
_BATCH = 256


def _refill() -> None:
    """Format a batch of ids from one ``os.urandom`` read (list.extend is atomic under the GIL)."""
    digits = os.urandom(16 * _BATCH).hex()
    _ids.extend(
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
        for h in (digits[i : i + 32] for i in range(0, len(digits), 32))
    )


def new_request_id() -> str:
    """A random version-4 UUID string, the shape of AWS request ids.

    Ids are formatted in batches from one OS random read and handed out with
    ``list.pop`` (atomic, so no two calls ever get the same id, whatever the
    thread): a fraction of ``str(uuid.uuid4())``'s cost, on every request.
    """
    while True:
        try:
            return _ids.pop()
        except IndexError:
            _refill()


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
    request_id: str = field(default_factory=new_request_id)
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
