"""STS operations: AssumeRole, GetSessionToken, GetFederationToken and the informational ones.

Each issuing operation fills a ``SessionSpec`` and lets ``issue_credentials``
make ASIA credentials; the checks they share with the federation operations
live in ``assume``. Times come from the call (the server's movable clock).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rampart.accounts import account_id_from_access_key_id
from rampart.aws.errors import AccessDenied, ValidationError
from rampart.gateway import authorize as gateway_authorize
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam.mfa import assigned_to, get_device, verify_mfa_code
from rampart.services.sts.assume import (
    assume_role_checks,
    check_packed_size,
    check_session_policy,
    managed_session_policies,
    merge_tags,
    policy_arns_of,
    tags_of,
)
from rampart.services.sts.messages import decode_authorization_message
from rampart.services.sts.sessions import (
    SessionSpec,
    issue_credentials,
    issue_role_session,
    session_of,
)
from rampart.services.sts.wiring import assume_role_context

MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."
ROOT_CANNOT_ASSUME = "Roles may not be assumed by root accounts."
TOKEN_DEFAULT = 43200
ROOT_MAX = 3600


# --- MFA ---------------------------------------------------------------------------------


def _caller_user_name(call: Call) -> str | None:
    """The IAM user behind the caller (long-term keys or a GetSessionToken session), else None."""
    principal = call.caller.principal
    if getattr(principal, "kind", None) != "user":
        return None
    spec = session_of(principal)
    return spec.issuer_name if spec is not None else principal.name


def mfa_lock_name(account_id: str, serial: str) -> str:
    """The lock that serializes uses of one MFA device (its counter is read, then moved)."""
    return f"rampart.sts.mfa/{account_id}/{serial}"


def verified_mfa(call: Call, params: dict[str, Any]) -> dt.datetime | None:
    """The moment MFA was proven in this call (None: no code given); AccessDenied for a bad code.

    The device must be the calling user's own, enabled one; a code works once
    (``verify_mfa_code`` moves the device's last used counter in its own transaction).
    The device's lock is taken before its counter is read: on PostgreSQL two
    requests with one code would otherwise both read the old counter and both pass.
    """
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if not serial and not code:
        return None
    if not serial or not code:
        raise ValidationError("SerialNumber and TokenCode must be given together.")
    user = _caller_user_name(call)
    gateway = call.gateway
    with gateway.db.session() as session:
        gateway.db.lock(session, mfa_lock_name(call.account_id or "", serial))
        device = get_device(session, call.account_id or "", serial) if user else None
        if device is None or (assigned_to(device) or "").lower() != (user or "").lower():
            raise AccessDenied(MFA_FAILED)
        if not verify_mfa_code(
            session, call.account_id or "", serial, code, call.received_at, master_key=gateway.accounts.master_key
        ):
            raise AccessDenied(MFA_FAILED)
    return call.received_at


# --- AssumeRole --------------------------------------------------------------------------


def _source_identity(caller: SessionSpec | None, requested: str | None) -> str | None:
    """The new session's source identity: the caller's, once set, cannot be changed or shed down a chain.

    The inherited value is what the next trust policy sees (sts:SourceIdentity,
    and sts:SetSourceIdentity must be allowed), so a Deny on it cannot be
    dodged by leaving the parameter out.
    """
    inherited = caller.source_identity if caller is not None else None
    if inherited and requested and requested != inherited:
        raise AccessDenied(f"The source identity {inherited} of the calling session cannot be changed.")
    return inherited or requested


@handler("sts", "AssumeRole")
def assume_role(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A role session: trust policy, duration, session policies and tags checked, then credentials."""
    if call.caller.is_root:
        raise AccessDenied(ROOT_CANNOT_ASSUME)
    caller = session_of(call.caller.principal)
    chained = caller is not None and caller.kind == "assumed-role"
    mfa_at = verified_mfa(call, params) or (caller.mfa_auth_time if caller and caller.mfa_authenticated else None)
    subject = gateway_authorize.subject_of(call)
    context = {
        **gateway_authorize.request_context(call, params, subject),
        **assume_role_context(call, params, "sts:AssumeRole"),
        "aws:MultiFactorAuthPresent": mfa_at is not None,
    }
    source_identity = _source_identity(caller, params.get("SourceIdentity"))
    grant = assume_role_checks(
        call,
        params["RoleArn"],
        params["RoleSessionName"],
        params.get("DurationSeconds"),
        subject=subject,
        context=context,
        policy=params.get("Policy"),
        policy_arns=policy_arns_of(params),
        tags=tags_of(params),
        transitive_tag_keys=params.get("TransitiveTagKeys") or (),
        inherited_tags=caller.tags if chained and caller else None,
        inherited_transitive_keys=caller.transitive_tag_keys if chained and caller else (),
        source_identity=source_identity,
        chained=chained,
    )
    return issue_role_session(
        call, grant, params["RoleSessionName"], call.received_at + dt.timedelta(seconds=grant.duration),
        source_identity=source_identity, mfa_at=mfa_at, chained=chained,
    )


# --- GetSessionToken and GetFederationToken ---------------------------------------------


def _long_term_only(call: Call, operation: str) -> None:
    """Both token operations refuse temporary credentials, as AWS does."""
    if session_of(call.caller.principal) is not None:
        raise AccessDenied(f"Cannot call {operation} with session credentials")


def _token_duration(call: Call, params: dict[str, Any]) -> int:
    """DurationSeconds (the model bounds it to 900..129600), default 12 hours; root gets at most one hour."""
    duration = params.get("DurationSeconds") or TOKEN_DEFAULT
    return min(duration, ROOT_MAX) if call.caller.is_root else duration


@handler("sts", "GetSessionToken")
def get_session_token(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The caller's own permissions as temporary credentials, MFA-authenticated when a code is given."""
    _long_term_only(call, "GetSessionToken")
    mfa_at = verified_mfa(call, params)
    principal = call.caller.principal
    root = call.caller.is_root
    spec = SessionSpec(
        account_id=principal.account_id,
        kind="root" if root else "user",
        arn=principal.arn,
        user_id=principal.user_id,
        issuer_arn=None if root else principal.arn,
        issued_at=call.received_at,
        expires_at=call.received_at + dt.timedelta(seconds=_token_duration(call, params)),
        mfa_authenticated=mfa_at is not None,
        mfa_auth_time=mfa_at,
        name=principal.name or "",
    )
    return {"Credentials": issue_credentials(call.gateway, spec)}


@handler("sts", "GetFederationToken")
def get_federation_token(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A federated user: the calling user's permissions cut down by the policies passed (none: nothing)."""
    _long_term_only(call, "GetFederationToken")
    principal = call.caller.principal
    account = principal.account_id
    name = params["Name"]
    inline, arns = params.get("Policy"), policy_arns_of(params)
    if inline:
        check_session_policy(inline)
    with call.gateway.db.read() as conn:
        managed_session_policies(conn, account, arns)  # each must exist; the session keeps the ARNs
    tags, _ = merge_tags({}, (), tags_of(params), ())
    size = check_packed_size(inline, arns, tags)
    spec = SessionSpec(
        account_id=account,
        kind="federated-user",
        arn=f"arn:aws:sts::{account}:federated-user/{name}",
        user_id=f"{account}:{name}",
        issuer_arn=principal.arn,
        issuer_id=principal.user_id,
        issued_at=call.received_at,
        expires_at=call.received_at + dt.timedelta(seconds=_token_duration(call, params)),
        session_policies=(inline,) if inline else (),
        tags=tags,
        name=name,
        policy_arns=arns,
    )
    output: dict[str, Any] = {
        "Credentials": issue_credentials(call.gateway, spec),
        "FederatedUser": {"FederatedUserId": spec.user_id, "Arn": spec.arn},
    }
    if size is not None:
        output["PackedPolicySize"] = size
    return output


# --- informational -------------------------------------------------------------------------


@handler("sts", "GetCallerIdentity")
def get_caller_identity(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Who the credentials belong to; needs no permission (AWS documents this)."""
    principal = call.caller.principal
    return {"UserId": principal.user_id, "Account": principal.account_id, "Arn": principal.arn}


@handler("sts", "GetAccessKeyInfo")
def get_access_key_info(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The account an access key id (AKIA or ASIA) belongs to, read from the id itself."""
    account = account_id_from_access_key_id(params["AccessKeyId"])
    if account is None:
        raise ValidationError("The access key ID is not valid.")
    return {"Account": account}


@handler("sts", "DecodeAuthorizationMessage")
def decode_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The explanation sealed into an AccessDenied message of this account."""
    master_key = call.gateway.accounts.master_key
    return {"DecodedMessage": decode_authorization_message(master_key, call.account_id or "", params["EncodedMessage"])}
