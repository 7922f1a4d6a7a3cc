"""Temporary-credential sessions: what a session carries and how its credentials are made.

The contract every STS operation builds on (AssumeRole, GetSessionToken,
GetFederationToken here; AssumeRoleWithWebIdentity / AssumeRoleWithSAML in
``federation``): fill a ``SessionSpec``, hand it to ``issue_credentials``.

A session token *is* the session: the spec and the secret access key,
compressed and sealed with AES-GCM under the server's master key, bound to
the access key id by the associated data. Nobody without the master key can
read, forge or alter one (any change fails authentication), and every server
process can open it. SigV4 hands the credential store only the access key id,
so one small row (``tables.sts_sessions``) maps each ASIA key id to its token;
``signing_record`` is the store's resolver for those keys.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from rampart.accounts import generate_access_key_id, generate_secret_access_key
from rampart.auth.sigv4 import SigningKeyRecord
from rampart.secrets import DecryptionError, MasterKey
from rampart.services.sts.assume import (  # noqa: F401 - part of the session contract (federation uses them)
    RoleGrant,
    assume_context,
    assume_role_checks,
    check_duration,
    check_trust,
    find_role,
    packed_policy_size,
    trust_decision,
)
from rampart.services.sts.tables import sts_sessions

TEMPORARY_KEY_PREFIX = "ASIA"
KINDS = ("assumed-role", "federated-user", "user", "root")
TOKEN_AAD_PREFIX = b"rampart/sts/session-token/v1/"
# Expired rows are kept a day (CloudTrail readers may still resolve them), then purged on issue.
PURGE_AFTER = dt.timedelta(days=1)
_TIMES = ("issued_at", "expires_at", "mfa_auth_time")


@dataclass(frozen=True)
class SessionSpec:
    """Everything a new session carries; sealed into its token, read back on every request.

    ``issuer_arn`` is the role behind an assumed-role session, or the IAM user
    behind a federated-user or GetSessionToken session (None for root).
    ``session_policies`` are inline JSON documents; ``policy_arns`` the
    managed session policies, resolved by ARN in the session's account when
    its permissions are computed (the token stays small: it rides in every
    request header). A managed policy gone by then denies (fail closed). ``tags`` become
    the caller's aws:PrincipalTag/* (over the role's own), ``extra_context``
    holds condition keys the session carries (web-identity and SAML claims).
    ``name`` is the session name, federated user name or IAM user name.
    ``issuer_id`` is the issuing IAM user's unique id (AIDA...) behind a
    federated-user session, for CloudTrail's sessionIssuer.principalId; tokens
    sealed before it existed open with None.
    """

    account_id: str
    kind: str
    arn: str
    user_id: str
    issuer_arn: str | None
    issued_at: dt.datetime
    expires_at: dt.datetime
    session_policies: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    mfa_authenticated: bool = False
    mfa_auth_time: dt.datetime | None = None
    source_identity: str | None = None
    federated_provider: str | None = None
    extra_context: Mapping[str, Any] = field(default_factory=dict)
    chained: bool = False
    name: str = ""
    policy_arns: tuple[str, ...] = ()
    issuer_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (times as ISO strings) for sealing into the token."""
        data = asdict(self)
        for key in _TIMES:
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["tags"] = dict(self.tags)
        data["extra_context"] = dict(self.extra_context)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionSpec:
        """The inverse of ``to_json`` (the token was authenticated, so its fields are ours)."""
        values = dict(data)
        for key in _TIMES:
            if values.get(key) is not None:
                values[key] = dt.datetime.fromisoformat(values[key])
        for key in ("session_policies", "transitive_tag_keys", "policy_arns"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)

    @property
    def issuer_name(self) -> str | None:
        """The role's or IAM user's name (the last path segment of ``issuer_arn``)."""
        return self.issuer_arn.rpartition("/")[2] if self.issuer_arn else None


@dataclass(frozen=True, slots=True)
class SessionPrincipal:
    """The caller's principal for temporary credentials (``Caller.principal``).

    Shaped like ``accounts.PrincipalRef`` (account_id, kind, name, arn,
    user_id) so the gateway, GetCallerIdentity and CloudTrail read it the same
    way; ``session`` is the opened spec. ``kind`` "user" (GetSessionToken)
    keeps IAM operations that default to the calling user working; "root"
    keeps root's session root.
    """

    account_id: str
    kind: str
    name: str | None
    arn: str
    user_id: str
    session: SessionSpec
    access_key_id: str


class InvalidSessionToken(ValueError):
    """A token that does not open under this server's key for this access key id."""


# --- sealing ------------------------------------------------------------------------------


def _aad(access_key_id: str) -> bytes:
    return TOKEN_AAD_PREFIX + access_key_id.encode()


def seal_token(master_key: MasterKey, access_key_id: str, secret: str, spec: SessionSpec) -> str:
    """The session token: AES-GCM over the compressed spec and secret, bound to the key id."""
    plain = zlib.compress(orjson.dumps({"k": access_key_id, "s": secret, "p": spec.to_json()}), 9)
    return base64.b64encode(master_key.encrypt(plain, _aad(access_key_id))).decode("ascii")


def open_token(master_key: MasterKey, access_key_id: str, token: str) -> tuple[str, SessionSpec]:
    """(secret, spec) of a token; raises InvalidSessionToken for anything altered or foreign."""
    try:
        sealed = base64.b64decode(token.encode("ascii"), validate=True)
        data = orjson.loads(zlib.decompress(master_key.decrypt(sealed, _aad(access_key_id))))
    except (ValueError, binascii.Error, DecryptionError, zlib.error, UnicodeEncodeError):
        raise InvalidSessionToken("session token does not authenticate") from None
    if data.get("k") != access_key_id:
        raise InvalidSessionToken("session token belongs to another key")
    return str(data["s"]), SessionSpec.from_json(data["p"])


def principal_of(access_key_id: str, spec: SessionSpec) -> SessionPrincipal:
    """The caller principal a session's requests carry."""
    name = spec.issuer_name if spec.kind == "user" else spec.name
    return SessionPrincipal(spec.account_id, spec.kind, name, spec.arn, spec.user_id, spec, access_key_id)


# --- issuing and looking up -------------------------------------------------------------------


def issue_credentials(gateway: Any, spec: SessionSpec, *, session: Session | None = None) -> dict[str, Any]:
    """New ASIA credentials for ``spec``: the response's Credentials member.

    The key id encodes the session's account (sts:GetAccessKeyInfo reads it
    back); the row is written in ``session`` when given (the call's
    transaction), else in a transaction of its own.
    """
    if spec.kind not in KINDS:
        raise ValueError(f"unknown session kind {spec.kind!r}")
    access_key_id = generate_access_key_id(spec.account_id, TEMPORARY_KEY_PREFIX)
    secret = generate_secret_access_key()
    token = seal_token(gateway.accounts.master_key, access_key_id, secret, spec)
    row = {
        "access_key_id": access_key_id,
        "account_id": spec.account_id,
        "session_token": token,
        "issued_at": spec.issued_at,
        "expires_at": spec.expires_at,
    }
    if session is not None:
        _store(session, row, spec.issued_at)
    else:
        with gateway.db.session() as own:
            _store(own, row, spec.issued_at)
    return {"AccessKeyId": access_key_id, "SecretAccessKey": secret, "SessionToken": token, "Expiration": spec.expires_at}


def issue_role_session(
    call: Any,
    granted: RoleGrant,
    name: str,
    expires_at: dt.datetime,
    *,
    source_identity: str | None = None,
    mfa_at: dt.datetime | None = None,
    chained: bool = False,
    federated_provider: str | None = None,
    extra_context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A role session for a settled grant, and the members every assume operation answers.

    AssumeRole, AssumeRoleWithWebIdentity and AssumeRoleWithSAML all answer
    Credentials, AssumedRoleUser, PackedPolicySize (when policies or tags were
    passed) and SourceIdentity (when set); one builder keeps them alike.
    """
    role = granted.role
    spec = SessionSpec(
        account_id=role.account_id,
        kind="assumed-role",
        arn=f"arn:aws:sts::{role.account_id}:assumed-role/{role.name}/{name}",
        user_id=f"{role.entity_id}:{name}",
        issuer_arn=role.arn,
        issued_at=call.received_at,
        expires_at=expires_at,
        session_policies=granted.session_policies,
        tags=dict(granted.tags),
        transitive_tag_keys=granted.transitive_tag_keys,
        mfa_authenticated=mfa_at is not None,
        mfa_auth_time=mfa_at,
        source_identity=source_identity,
        federated_provider=federated_provider,
        extra_context=dict(extra_context or {}),
        chained=chained,
        name=name,
        policy_arns=granted.policy_arns,
    )
    out: dict[str, Any] = {
        "Credentials": issue_credentials(call.gateway, spec),
        "AssumedRoleUser": {"AssumedRoleId": spec.user_id, "Arn": spec.arn},
    }
    if granted.packed_policy_size is not None:
        out["PackedPolicySize"] = granted.packed_policy_size
    if source_identity:
        out["SourceIdentity"] = source_identity
    return out


def _store(session: Session, row: dict[str, Any], now: dt.datetime) -> None:
    session.execute(delete(sts_sessions).where(sts_sessions.c.expires_at < now - PURGE_AFTER))
    session.execute(insert(sts_sessions).values(**row))


_LOOKUP = select(sts_sessions.c.account_id, sts_sessions.c.session_token).where(
    sts_sessions.c.access_key_id == bindparam("key_id")
)


def signing_record(conn: Connection, master_key: MasterKey, access_key_id: str) -> SigningKeyRecord | None:
    """The credential store's answer for a temporary key id (None: unknown, or a token that fails).

    The record carries the expected token (SigV4 compares the request's in
    constant time) and the expiry (SigV4 answers ExpiredToken past it).
    """
    row = conn.execute(_LOOKUP, {"key_id": access_key_id}).first()
    if row is None:
        return None
    try:
        secret, spec = open_token(master_key, access_key_id, row.session_token)
    except InvalidSessionToken:
        return None
    if spec.account_id != row.account_id:
        return None
    return SigningKeyRecord(
        access_key_id,
        secret,
        spec.account_id,
        principal_of(access_key_id, spec),
        session_token=row.session_token,
        expires_at=spec.expires_at,
    )


def session_of(principal: object) -> SessionSpec | None:
    """The session behind a caller principal, or None for long-term credentials."""
    return principal.session if isinstance(principal, SessionPrincipal) else None


def iso8601(moment: dt.datetime) -> str:
    """aws:TokenIssueTime's format (and AWS's timestamps in condition keys)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_context(spec: SessionSpec, now: dt.datetime) -> dict[str, Any]:
    """The condition keys that follow from the credentials on every request of the session.

    aws:MultiFactorAuthPresent is present (true or false) for all temporary
    credentials; aws:MultiFactorAuthAge only when MFA was used. Web-identity and
    SAML claims ride in ``extra_context``.
    """
    context: dict[str, Any] = {
        "aws:TokenIssueTime": iso8601(spec.issued_at),
        "aws:MultiFactorAuthPresent": spec.mfa_authenticated,
    }
    if spec.mfa_authenticated and spec.mfa_auth_time is not None:
        context["aws:MultiFactorAuthAge"] = str(max(0, int((now - spec.mfa_auth_time).total_seconds())))
    if spec.source_identity:
        context["aws:SourceIdentity"] = spec.source_identity
    if spec.federated_provider:
        context["aws:FederatedProvider"] = spec.federated_provider
    context.update(spec.extra_context)
    return context
