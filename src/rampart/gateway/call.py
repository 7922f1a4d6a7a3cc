"""The Call: everything a handler may know about the request it serves."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart.gateway.context import Gateway


# Byte maps that set RFC 4122's version (4) and variant (10xx) bits on a whole batch at once.
_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
_VARIANT_RFC4122 = bytes((b & 0x3F) | 0x80 for b in range(256))

_ids: list[str] = []
_BATCH = 256
_WIDTH = 37  # 36 characters of a UUID and a newline
# Where each of a UUID's 32 hex digits goes in its 8-4-4-4-12 spelling (the rest are dashes).
_DIGIT_COLUMNS = [column for column in range(36) if column not in (8, 13, 18, 23)]


def _refill() -> None:
    """Format a batch of ids from one ``os.urandom`` read, column by column.

    Each of the 32 digit columns is copied for the whole batch with one
    extended-slice assignment, so the work per id is a few C-level bytes
    copies rather than Python string formatting. ``list.extend`` is atomic
    under the GIL, so concurrent refills only ever add distinct ids.
    """
    raw = bytearray(os.urandom(16 * _BATCH))
    raw[6::16] = raw[6::16].translate(_VERSION_4)
    raw[8::16] = raw[8::16].translate(_VARIANT_RFC4122)
    digits = raw.hex().encode("ascii")
    text = bytearray(b"-" * (_WIDTH * _BATCH))
    for source, column in enumerate(_DIGIT_COLUMNS):
        text[column::_WIDTH] = digits[source::32]
    text[36::_WIDTH] = b"\n" * _BATCH
    _ids.extend(text[:-1].decode("ascii").split("\n"))


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

    How the request was signed, for condition keys such as S3's s3:authType
    (all None when anonymous): ``auth_type`` REST-HEADER or REST-QUERY-STRING;
    ``signature_version`` AWS4-HMAC-SHA256, or AWS for SigV2;
    ``content_sha256`` the x-amz-content-sha256 header as sent;
    ``signature_age_ms`` for presigned requests, milliseconds since the
    signing time (0 for SigV2, which has none); ``tls_version`` the
    negotiated TLS version (TLSv1.2, TLSv1.3) when the transport reports it.
    """

    account_id: str | None = None
    principal: Any = None
    access_key_id: str | None = None
    session_token: str | None = None
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    secure: bool = False
    auth_type: str | None = None
    signature_version: str | None = None
    content_sha256: str | None = None
    signature_age_ms: int | None = None
    tls_version: str | None = None

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
    params: dict[str, Any] | None = None  # the validated input, once parsed (resource resolvers may read it)
    resource_account: str | None = None  # the owner of the first resource authorized (CloudTrail's recipient for anonymous calls)

    @property
    def account_id(self) -> str | None:
        """The account the call acts in (the caller's)."""
        return self.caller.account_id
