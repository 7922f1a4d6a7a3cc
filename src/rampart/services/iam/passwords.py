"""IAM console passwords: login profiles, ChangePassword and the account password policy.

A password is checked against the account's policy (or AWS's default rules
when there is none), then kept only as a slow salted hash; earlier hashes go
to the profile's history for reuse prevention. ``verify_password`` and
``login_state`` are what a console sign-in asks later.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from rampart.aws.errors import AccessDenied
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.errors import (
    EntityAlreadyExists,
    InvalidInput,
    InvalidUserType,
    NoSuchEntity,
)
from rampart.services.iam.password_policy import (
    PasswordPolicy,
    check_password,
    check_reuse,
    hash_password,
    is_expired,
    next_history,
    verify_hash,
)
from rampart.storage.schema import accounts, iam_account_settings, iam_login_profiles

Conn = Connection | Session


# --- the account password policy ------------------------------------------------------


def account_policy(conn: Conn, account_id: str) -> PasswordPolicy | None:
    """The account's custom password policy, or None when AWS's default rules apply."""
    text = conn.execute(
        select(iam_account_settings.c.password_policy).where(iam_account_settings.c.account_id == account_id)
    ).scalar_one_or_none()
    return PasswordPolicy.from_json(orjson.loads(text)) if text else None


def _store_policy(s: Session, account_id: str, policy: PasswordPolicy | None) -> None:
    """Write (or clear, with None) the policy in the account's settings row, creating the row."""
    text = orjson.dumps(policy.to_json()).decode() if policy is not None else None
    exists = s.execute(
        select(iam_account_settings.c.account_id).where(iam_account_settings.c.account_id == account_id)
    ).first()
    if exists:
        s.execute(
            update(iam_account_settings)
            .where(iam_account_settings.c.account_id == account_id)
            .values(password_policy=text)
        )
    elif text is not None:
        s.execute(insert(iam_account_settings).values(account_id=account_id, password_policy=text))
    store.changed(s, account_id)  # AllowUsersToChangePassword is a grant the authorizer caches


def users_may_change_own_password(conn: Conn, account_id: str) -> bool:
    """AllowUsersToChangePassword: the account-level grant of iam:ChangePassword on oneself.

    AWS applies it without any identity policy; the authorizer can ask here.
    """
    policy = account_policy(conn, account_id)
    return policy is not None and policy.allow_users_to_change


def _no_policy_message(account_id: str) -> str:
    return f"The Password Policy with domain name {account_id} cannot be found."


@handler("iam", "UpdateAccountPasswordPolicy")
def update_account_password_policy(call: Call, params: dict[str, Any]) -> None:
    """Replace the policy; members left out take AWS's defaults (the model checks the ranges)."""
    with call.gateway.db.session() as s:
        _store_policy(s, call.account_id or "", PasswordPolicy.from_request(params))


@handler("iam", "GetAccountPasswordPolicy")
def get_account_password_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The custom policy; NoSuchEntity when the account uses the default rules."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        policy = account_policy(conn, account_id)
    if policy is None:
        raise NoSuchEntity(_no_policy_message(account_id))
    return {"PasswordPolicy": policy.to_output()}


@handler("iam", "DeleteAccountPasswordPolicy")
def delete_account_password_policy(call: Call, params: dict[str, Any]) -> None:
    """Go back to the default rules; NoSuchEntity when there was no custom policy."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        if account_policy(s, account_id) is None:
            raise NoSuchEntity(_no_policy_message(account_id))
        _store_policy(s, account_id, None)


# --- login profiles ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginProfile:
    """One row of ``iam_login_profiles`` (the hash never leaves this module's callers)."""

    user_name: str
    password_hash: str
    history: list[str]
    reset_required: bool
    created_at: dt.datetime
    changed_at: dt.datetime
    last_used_at: dt.datetime | None


def _row_profile(row: Row[Any]) -> LoginProfile:
    return LoginProfile(
        row.user_name,
        row.password_hash,
        orjson.loads(row.history),
        row.reset_required,
        row.created_at,
        row.changed_at,
        row.last_used_at,
    )


def get_profile(conn: Conn, account_id: str, user_name: str) -> LoginProfile | None:
    """The user's login profile (name compared without regard to case), or None."""
    row = conn.execute(
        select(iam_login_profiles).where(
            iam_login_profiles.c.account_id == account_id,
            func.lower(iam_login_profiles.c.user_name) == user_name.lower(),
        )
    ).first()
    return _row_profile(row) if row is not None else None


def _require_profile(conn: Conn, account_id: str, user_name: str) -> LoginProfile:
    found = get_profile(conn, account_id, user_name)
    if found is None:
        raise NoSuchEntity(f"Login Profile for User {user_name} cannot be found.")
    return found


def _profile_where(account_id: str, user_name: str) -> tuple[Any, ...]:
    return (iam_login_profiles.c.account_id == account_id, iam_login_profiles.c.user_name == user_name)


def _profile_output(profile: LoginProfile) -> dict[str, Any]:
    return {
        "UserName": profile.user_name,
        "CreateDate": profile.created_at,
        "PasswordResetRequired": profile.reset_required,
    }


def _account_name(conn: Conn, account_id: str) -> str:
    name = conn.execute(select(accounts.c.name).where(accounts.c.account_id == account_id)).scalar_one_or_none()
    return name or ""


def _check_new_password(conn: Conn, account_id: str, user_name: str, password: str) -> PasswordPolicy | None:
    """Enforce the account policy (or the default rules) on a password about to be set."""
    policy = account_policy(conn, account_id)
    check_password(password, policy, names=(user_name, _account_name(conn, account_id)))
    return policy


def _target_user(call: Call, params: dict[str, Any]) -> str:
    """UserName, else the calling IAM user (these operations act on the caller by default)."""
    name = params.get("UserName")
    if name:
        return str(name)
    principal = call.caller.principal
    if getattr(principal, "kind", None) == "user" and principal.name:
        return str(principal.name)
    raise InvalidInput("UserName is required when the caller is not an IAM user.")


def _required_password(params: dict[str, Any]) -> str:
    password = params.get("Password")
    if not password:
        raise InvalidInput("Password is required to create a login profile.")
    return str(password)


@handler("iam", "CreateLoginProfile")
def create_login_profile(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Give a user a console password, after checking it against the password policy."""
    account_id = call.account_id or ""
    password = _required_password(params)
    now = call.received_at
    with call.gateway.db.session() as s:
        user = store.require_entity(s, account_id, store.USER, _target_user(call, params))
        if get_profile(s, account_id, user.name) is not None:
            raise EntityAlreadyExists(f"Login Profile for user {user.name} already exists.")
        _check_new_password(s, account_id, user.name, password)
        profile = LoginProfile(
            user.name, hash_password(password), [], bool(params.get("PasswordResetRequired", False)), now, now, None
        )
        s.execute(
            insert(iam_login_profiles).values(
                account_id=account_id,
                user_name=profile.user_name,
                password_hash=profile.password_hash,
                history="[]",
                reset_required=profile.reset_required,
                created_at=now,
                changed_at=now,
            )
        )
    return {"LoginProfile": _profile_output(profile)}


@handler("iam", "GetLoginProfile")
def get_login_profile(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """When the profile was made and whether a reset is pending (never the password)."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        user = store.require_entity(conn, account_id, store.USER, _target_user(call, params))
        profile = _require_profile(conn, account_id, user.name)
    return {"LoginProfile": _profile_output(profile)}


def _set_password(
    s: Session, account_id: str, profile: LoginProfile, password: str, now: dt.datetime, reset_required: bool
) -> None:
    """Check policy and reuse, then store the new hash and push the old one onto the history."""
    policy = _check_new_password(s, account_id, profile.user_name, password)
    check_reuse(password, policy, profile.password_hash, profile.history)
    s.execute(
        update(iam_login_profiles)
        .where(*_profile_where(account_id, profile.user_name))
        .values(
            password_hash=hash_password(password),
            history=orjson.dumps(next_history(profile.password_hash, profile.history)).decode(),
            reset_required=reset_required,
            changed_at=now,
        )
    )


@handler("iam", "UpdateLoginProfile")
def update_login_profile(call: Call, params: dict[str, Any]) -> None:
    """An administrator sets a new password and/or the reset-required flag."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = store.require_entity(s, account_id, store.USER, params["UserName"])
        profile = _require_profile(s, account_id, user.name)
        reset = params.get("PasswordResetRequired")
        reset_required = profile.reset_required if reset is None else bool(reset)
        if params.get("Password"):
            _set_password(s, account_id, profile, str(params["Password"]), call.received_at, reset_required)
        elif reset is not None:
            s.execute(
                update(iam_login_profiles)
                .where(*_profile_where(account_id, profile.user_name))
                .values(reset_required=reset_required)
            )


@handler("iam", "DeleteLoginProfile")
def delete_login_profile(call: Call, params: dict[str, Any]) -> None:
    """Take the console password away (access keys are untouched)."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        user = store.require_entity(s, account_id, store.USER, _target_user(call, params))
        profile = _require_profile(s, account_id, user.name)
        s.execute(delete(iam_login_profiles).where(*_profile_where(account_id, profile.user_name)))


@handler("iam", "ChangePassword")
def change_password(call: Call, params: dict[str, Any]) -> None:
    """The calling IAM user replaces its own password, proving it knows the old one.

    The root user's password is not an IAM password: InvalidUserType, as the
    AWS CLI reference says. A wrong OldPassword answers AccessDenied.
    """
    principal = call.caller.principal
    if getattr(principal, "kind", None) != "user" or not principal.name:
        raise InvalidUserType("Only IAM Users can change their own password.")
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        profile = _require_profile(s, account_id, str(principal.name))
        if not verify_hash(str(params["OldPassword"]), profile.password_hash):
            raise AccessDenied("The old password was incorrect.")
        _set_password(s, account_id, profile, str(params["NewPassword"]), call.received_at, False)


# --- for console sign-in (a later issue) -------------------------------------------------


def verify_password(conn: Conn, account_id: str, user_name: str, password: str) -> bool:
    """Whether ``password`` is the user's current console password (False without a profile).

    Without a profile the same slow hash is still computed, so the answer's
    timing does not tell which users exist.
    """
    profile = get_profile(conn, account_id, user_name)
    matched = verify_hash(password, profile.password_hash if profile is not None else _decoy_hash())
    return profile is not None and matched


@functools.cache
def _decoy_hash() -> str:
    """A hash of a random password, checked when a user has no profile (equal work, never a match)."""
    return hash_password(secrets.token_urlsafe(32))


@dataclass(frozen=True, slots=True)
class LoginState:
    """What a sign-in must do after the password matched.

    ``expired``: older than MaxPasswordAge, so the user must choose a new one;
    ``hard_expired``: expired under HardExpiry, so only an administrator can
    reset it; ``reset_required``: PasswordResetRequired is set.
    """

    expired: bool
    hard_expired: bool
    reset_required: bool


def password_expired(conn: Conn, account_id: str, user_name: str, now: dt.datetime) -> bool:
    """True when the user's password is older than the policy's MaxPasswordAge."""
    state = login_state(conn, account_id, user_name, now)
    return state is not None and state.expired


def login_state(conn: Conn, account_id: str, user_name: str, now: dt.datetime) -> LoginState | None:
    """Expiry and reset flags of the user's password, or None without a login profile."""
    profile = get_profile(conn, account_id, user_name)
    if profile is None:
        return None
    policy = account_policy(conn, account_id)
    expired = is_expired(profile.changed_at, now, policy)
    hard = expired and policy is not None and bool(policy.hard_expiry)
    return LoginState(expired, hard, profile.reset_required)
