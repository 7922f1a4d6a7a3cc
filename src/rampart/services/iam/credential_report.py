"""The credential report's CSV, built from plain facts (no storage, no HTTP).

Columns, their order and the placeholder words follow AWS's "Getting
credential reports" page: ``<root_account>`` first, ISO 8601 times with an
explicit ``+00:00`` offset, lowercase ``true``/``false``, ``N/A`` where a
value does not apply, ``no_information`` for a password that was never used,
``not_supported`` for the root user's password columns. Scanners (Prowler,
Steampipe, CIS checks) parse these exact spellings.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

COLUMNS: tuple[str, ...] = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
ROOT_USER = "<root_account>"
NA = "N/A"
NO_INFORMATION = "no_information"
NOT_SUPPORTED = "not_supported"


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """One access key as the report shows it."""

    active: bool
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    last_used_region: str | None = None
    last_used_service: str | None = None


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """One X.509 signing certificate as the report shows it."""

    active: bool
    uploaded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PasswordFacts:
    """A user's console password (login profile)."""

    changed_at: dt.datetime
    last_used_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PrincipalFacts:
    """One row's subject: the root user (``password`` unused) or an IAM user."""

    name: str
    arn: str
    created_at: dt.datetime
    password: PasswordFacts | None = None
    mfa_active: bool = False
    keys: Sequence[KeyFacts] = field(default_factory=tuple)
    certificates: Sequence[CertificateFacts] = field(default_factory=tuple)


def timestamp(moment: dt.datetime) -> str:
    """AWS's report spelling of a time: seconds precision, UTC, ``+00:00``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _key_columns(key: KeyFacts | None) -> list[str]:
    """The five access_key_N_* columns."""
    if key is None:
        return ["false", NA, NA, NA, NA]
    if key.last_used_at is None:
        return [_flag(key.active), timestamp(key.created_at), NA, NA, NA]
    return [
        _flag(key.active),
        timestamp(key.created_at),
        timestamp(key.last_used_at),
        key.last_used_region or NA,
        key.last_used_service or NA,
    ]


def _keys_columns(keys: Sequence[KeyFacts]) -> list[str]:
    """Key 1 is the older key, key 2 the newer, as in IAM's own ordering."""
    ordered = sorted(keys, key=lambda k: k.created_at)[:2]
    padded: list[KeyFacts | None] = [*ordered, None, None][:2]
    return _key_columns(padded[0]) + _key_columns(padded[1])


def _password_columns(password: PasswordFacts | None, max_age_days: int | None) -> list[str]:
    """password_enabled, _last_used, _last_changed, _next_rotation for an IAM user."""
    if password is None:
        return ["false", NA, NA, NA]
    used = timestamp(password.last_used_at) if password.last_used_at else NO_INFORMATION
    rotation = NA
    if max_age_days:
        rotation = timestamp(password.changed_at + dt.timedelta(days=max_age_days))
    return ["true", used, timestamp(password.changed_at), rotation]


def _certificate_columns(certificates: Sequence[CertificateFacts]) -> list[str]:
    """cert_1_* and cert_2_*: the older certificate first, N/A where there is none."""
    ordered = sorted(certificates, key=lambda c: c.uploaded_at)[:2]
    columns: list[str] = []
    for certificate in ordered:
        columns += [_flag(certificate.active), timestamp(certificate.uploaded_at)]
    return columns + ["false", NA] * (2 - len(ordered))


def root_row(root: PrincipalFacts, root_password_last_used: dt.datetime | None = None) -> list[str]:
    """The ``<root_account>`` row: its password columns are not_supported (AWS's words)."""
    used = timestamp(root_password_last_used) if root_password_last_used else NO_INFORMATION
    return [
        ROOT_USER,
        root.arn,
        timestamp(root.created_at),
        NOT_SUPPORTED,
        used,
        NOT_SUPPORTED,
        NOT_SUPPORTED,
        _flag(root.mfa_active),
        *_keys_columns(root.keys),
        *_certificate_columns(root.certificates),
    ]


def user_row(user: PrincipalFacts, max_password_age_days: int | None) -> list[str]:
    """One IAM user's row."""
    return [
        user.name,
        user.arn,
        timestamp(user.created_at),
        *_password_columns(user.password, max_password_age_days),
        _flag(user.mfa_active),
        *_keys_columns(user.keys),
        *_certificate_columns(user.certificates),
    ]


def build_report(
    root: PrincipalFacts, users: Sequence[PrincipalFacts], max_password_age_days: int | None = None
) -> bytes:
    """The whole report: header, root row, then users by name; UTF-8, ``\\n`` between rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(root_row(root))
    for user in sorted(users, key=lambda u: u.name.lower()):
        writer.writerow(user_row(user, max_password_age_days))
    return out.getvalue().rstrip("\n").encode()
