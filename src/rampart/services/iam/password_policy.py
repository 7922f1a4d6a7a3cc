"""The account password policy and the password rules, as pure functions.

No storage and no clock: the handlers in ``passwords`` read the policy and
the stored hashes, and ask here whether a password may be set, whether it
reuses an old one, and whether the current one has expired. Passwords are
kept only as scrypt hashes (slow and salted) made and checked here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from rampart.services.iam.errors import PasswordPolicyViolation

# The symbols IAM counts as "non-alphanumeric characters" (API reference, RequireSymbols).
SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")
DEFAULT_MINIMUM_LENGTH = 6  # UpdateAccountPasswordPolicy's default when the member is omitted
DEFAULT_RULES_MINIMUM_LENGTH = 8  # AWS's default password policy (no custom policy set)
MAXIMUM_LENGTH = 128
HISTORY_KEPT = 24  # PasswordReusePrevention's maximum; enough history for any later policy

VIOLATION = "Password does not conform to the account password policy."
REUSE_VIOLATION = "Policy constraint violation with password reuse prevention during password change."

# scrypt cost (RFC 7914): 16 MiB and tens of milliseconds per guess.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """An account's custom password policy, with UpdateAccountPasswordPolicy's defaults.

    ``hard_expiry`` is None when the request never named it, so
    GetAccountPasswordPolicy leaves it out as AWS does.
    """

    minimum_length: int = DEFAULT_MINIMUM_LENGTH
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase: bool = False
    require_lowercase: bool = False
    allow_users_to_change: bool = False
    max_age_days: int = 0
    reuse_prevention: int = 0
    hard_expiry: bool | None = None

    @classmethod
    def from_request(cls, params: Mapping[str, Any]) -> PasswordPolicy:
        """UpdateAccountPasswordPolicy replaces the whole policy: omitted members take defaults."""
        return cls(
            minimum_length=params.get("MinimumPasswordLength") or DEFAULT_MINIMUM_LENGTH,
            require_symbols=bool(params.get("RequireSymbols", False)),
            require_numbers=bool(params.get("RequireNumbers", False)),
            require_uppercase=bool(params.get("RequireUppercaseCharacters", False)),
            require_lowercase=bool(params.get("RequireLowercaseCharacters", False)),
            allow_users_to_change=bool(params.get("AllowUsersToChangePassword", False)),
            max_age_days=params.get("MaxPasswordAge") or 0,
            reuse_prevention=params.get("PasswordReusePrevention") or 0,
            hard_expiry=params.get("HardExpiry"),
        )

    def to_json(self) -> dict[str, Any]:
        """The form kept in ``iam_account_settings.password_policy``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PasswordPolicy:
        """The inverse of ``to_json`` (unknown keys from later versions are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_output(self) -> dict[str, Any]:
        """GetAccountPasswordPolicy's PasswordPolicy; ExpirePasswords says whether MaxPasswordAge is set."""
        out: dict[str, Any] = {
            "MinimumPasswordLength": self.minimum_length,
            "RequireSymbols": self.require_symbols,
            "RequireNumbers": self.require_numbers,
            "RequireUppercaseCharacters": self.require_uppercase,
            "RequireLowercaseCharacters": self.require_lowercase,
            "AllowUsersToChangePassword": self.allow_users_to_change,
            "ExpirePasswords": self.max_age_days > 0,
        }
        if self.max_age_days:
            out["MaxPasswordAge"] = self.max_age_days
        if self.reuse_prevention:
            out["PasswordReusePrevention"] = self.reuse_prevention
        if self.hard_expiry is not None:
            out["HardExpiry"] = self.hard_expiry
        return out


# --- character rules ---------------------------------------------------------------


def _classes(password: str) -> dict[str, bool]:
    """Which of IAM's four character classes (ISO basic Latin letters, digits, symbols) occur."""
    return {
        "uppercase": any("A" <= ch <= "Z" for ch in password),
        "lowercase": any("a" <= ch <= "z" for ch in password),
        "numbers": any("0" <= ch <= "9" for ch in password),
        "symbols": any(ch in SYMBOLS for ch in password),
    }


def policy_failures(password: str, policy: PasswordPolicy) -> list[str]:
    """The custom policy's rules the password breaks (empty when it conforms)."""
    present = _classes(password)
    failures = []
    if len(password) < policy.minimum_length:
        failures.append(f"minimum length {policy.minimum_length}")
    required = {
        "symbols": policy.require_symbols,
        "numbers": policy.require_numbers,
        "uppercase": policy.require_uppercase,
        "lowercase": policy.require_lowercase,
    }
    failures += [f"at least one {name}" for name, needed in required.items() if needed and not present[name]]
    return failures


def default_failures(password: str, names: Iterable[str]) -> list[str]:
    """AWS's default rules, used when the account has no custom policy.

    At least 8 characters, at least three of the four character classes, and
    not identical to the user's or the account's name.
    """
    failures = []
    if len(password) < DEFAULT_RULES_MINIMUM_LENGTH:
        failures.append(f"minimum length {DEFAULT_RULES_MINIMUM_LENGTH}")
    if sum(_classes(password).values()) < 3:
        failures.append("three of four character types")
    if any(name and password.casefold() == name.casefold() for name in names):
        failures.append("not identical to the user or account name")
    return failures


def check_password(password: str, policy: PasswordPolicy | None, *, names: Iterable[str] = ()) -> None:
    """PasswordPolicyViolation, in AWS's words, unless the password may be set.

    ``names`` are the user and account names the default rules forbid.
    """
    if len(password) > MAXIMUM_LENGTH:
        raise PasswordPolicyViolation(VIOLATION)
    failures = policy_failures(password, policy) if policy is not None else default_failures(password, names)
    if failures:
        raise PasswordPolicyViolation(VIOLATION)


def check_reuse(password: str, policy: PasswordPolicy | None, current: str | None, history: Sequence[str]) -> None:
    """PasswordPolicyViolation when the password is one of the last N (the current one counts)."""
    remembered = recent_hashes(policy, current, history)
    if any(verify_hash(password, stored) for stored in remembered):
        raise PasswordPolicyViolation(REUSE_VIOLATION)


def recent_hashes(policy: PasswordPolicy | None, current: str | None, history: Sequence[str]) -> list[str]:
    """The hashes PasswordReusePrevention forbids: the current one and the N-1 before it."""
    if policy is None or policy.reuse_prevention <= 0:
        return []
    every = ([current] if current else []) + list(history)
    return every[: policy.reuse_prevention]


def next_history(current: str | None, history: Sequence[str]) -> list[str]:
    """The history after a change: the outgoing hash first, at most HISTORY_KEPT kept."""
    return (([current] if current else []) + list(history))[:HISTORY_KEPT]


# --- expiry ------------------------------------------------------------------------------


def expires_at(changed_at: dt.datetime, policy: PasswordPolicy | None) -> dt.datetime | None:
    """When a password set at ``changed_at`` expires under MaxPasswordAge; None if never."""
    if policy is None or policy.max_age_days <= 0:
        return None
    return changed_at + dt.timedelta(days=policy.max_age_days)


def is_expired(changed_at: dt.datetime, now: dt.datetime, policy: PasswordPolicy | None) -> bool:
    """True once the password is older than MaxPasswordAge."""
    deadline = expires_at(changed_at, policy)
    return deadline is not None and now >= deadline


# --- hashing -----------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=2**26)


def hash_password(password: str) -> str:
    """A slow salted hash, ``scrypt$n$r$p$salt$hash`` (base64): the only form a password is kept in."""
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_hash(password: str, stored: str) -> bool:
    """Whether ``password`` produced ``stored`` (constant-time compare; a malformed hash never matches)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        actual = _scrypt(password, salt, n, r, p)
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)
