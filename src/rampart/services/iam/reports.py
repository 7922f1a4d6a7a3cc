"""IAM reporting: the account summary, the credential report, the authorization details.

Every figure is read from the tables at the time of the call (the summary and
the authorization details) or of the report's generation (the credential
report), so the reports reflect what actually happened in the account.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.account import ensure_settings_row
from rampart.services.iam.boundaries import boundary_output
from rampart.services.iam.certificates import SERVER_CERTIFICATE, SIGNING_CERTIFICATE
from rampart.services.iam.credential_report import (
    CertificateFacts,
    KeyFacts,
    PasswordFacts,
    PrincipalFacts,
    build_report,
)
from rampart.services.iam.errors import ReportExpired, ReportNotPresent
from rampart.services.iam.misc import global_endpoint_token_version
from rampart.storage.schema import (
    access_keys,
    accounts,
    iam_account_settings,
    iam_attachments,
    iam_entities,
    iam_group_members,
    iam_inline_policies,
    iam_instance_profile_roles,
    iam_login_profiles,
    iam_policy_versions,
)

Conn = Connection | Session
REPORT_LIFETIME = dt.timedelta(hours=4)
ROOT_MFA_DEVICE = "root-account-mfa-device"
AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"

# IAM's default quotas (the "IAM and AWS STS quotas" page), as GetAccountSummary reports them.
QUOTAS: dict[str, int] = {
    "AccessKeysPerUserQuota": 2,
    "AssumeRolePolicySizeQuota": 2048,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "AttachedPoliciesPerUserQuota": 10,
    "GroupPolicySizeQuota": 5120,
    "GroupsPerUserQuota": 10,
    "GroupsQuota": 300,
    "InstanceProfilesQuota": 1000,
    "PoliciesQuota": 1500,
    "PolicySizeQuota": 6144,
    "PolicyVersionsInUseQuota": 10000,
    "RolePolicySizeQuota": 10240,
    "RolesQuota": 1000,
    "ServerCertificatesQuota": 20,
    "SigningCertificatesPerUserQuota": 2,
    "UserPolicySizeQuota": 2048,
    "UsersQuota": 5000,
    "VersionsPerPolicyQuota": 5,
}


# --- GetAccountSummary ------------------------------------------------------------------


def _kind_counts(conn: Conn, account_id: str) -> dict[str, int]:
    rows = conn.execute(
        select(iam_entities.c.kind, func.count())
        .where(iam_entities.c.account_id == account_id)
        .group_by(iam_entities.c.kind)
    ).all()
    return {kind: count for kind, count in rows}


def _root_mfa_enabled(devices: list[store.Entity]) -> bool:
    """The root user's virtual MFA device is named root-account-mfa-device in AWS."""
    return any(d.name == ROOT_MFA_DEVICE and d.data.get("EnableDate") and not d.data.get("UserName") for d in devices)


def _root_keys_present(conn: Conn, account_id: str) -> bool:
    found = conn.execute(
        select(access_keys.c.access_key_id).where(
            access_keys.c.account_id == account_id, access_keys.c.principal_kind == "root"
        )
    ).first()
    return found is not None


@handler("iam", "GetAccountSummary")
def get_account_summary(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Usage counted from the tables next to IAM's default quotas (the keys AWS returns)."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        counts = _kind_counts(conn, account_id)
        devices = store.list_entities(conn, account_id, store.MFA)
        attachments = conn.execute(
            select(func.count()).select_from(iam_attachments).where(iam_attachments.c.account_id == account_id)
        ).scalar_one()
        root_keys = _root_keys_present(conn, account_id)
        root_certificates = [
            c for c in store.list_entities(conn, account_id, SIGNING_CERTIFICATE) if not c.data.get("UserName")
        ]
        token_version = global_endpoint_token_version(conn, account_id)
    summary = {
        "Users": counts.get(store.USER, 0),
        "Groups": counts.get(store.GROUP, 0),
        "Roles": counts.get(store.ROLE, 0),
        "Policies": counts.get(store.POLICY, 0),
        "InstanceProfiles": counts.get(store.INSTANCE_PROFILE, 0),
        "Providers": counts.get(store.OIDC_PROVIDER, 0) + counts.get(store.SAML_PROVIDER, 0),
        "MFADevices": len(devices),
        "MFADevicesInUse": sum(1 for d in devices if d.data.get("UserName") or _root_mfa_enabled([d])),
        "AccountMFAEnabled": int(_root_mfa_enabled(devices)),
        "AccountAccessKeysPresent": int(root_keys),
        "AccountSigningCertificatesPresent": int(bool(root_certificates)),
        "PolicyVersionsInUse": attachments,
        "ServerCertificates": counts.get(SERVER_CERTIFICATE, 0),
        **QUOTAS,
        "GlobalEndpointTokenVersion": token_version,
    }
    return {"SummaryMap": summary}


# --- credential report ----------------------------------------------------------------------


def _settings(conn: Conn, account_id: str) -> Any:
    return conn.execute(select(iam_account_settings).where(iam_account_settings.c.account_id == account_id)).first()


def _max_password_age(settings: Any) -> int | None:
    if settings is None or not settings.password_policy:
        return None
    policy = orjson.loads(settings.password_policy)
    age = policy.get("max_age_days") or policy.get("MaxPasswordAge")  # the password-policy module's form
    return int(age) if age else None


def _keys_by_owner(conn: Conn, account_id: str) -> dict[str | None, list[KeyFacts]]:
    """Access keys grouped by user name (None: the root user's)."""
    rows = conn.execute(select(access_keys).where(access_keys.c.account_id == account_id)).all()
    grouped: dict[str | None, list[KeyFacts]] = defaultdict(list)
    for r in rows:
        owner = None if r.principal_kind == "root" else r.user_name
        if r.principal_kind not in ("root", "user"):
            continue
        grouped[owner].append(
            KeyFacts(r.status == "Active", r.created_at, r.last_used_at, r.last_used_region, r.last_used_service)
        )
    return grouped


def _passwords(conn: Conn, account_id: str) -> dict[str, PasswordFacts]:
    rows = conn.execute(select(iam_login_profiles).where(iam_login_profiles.c.account_id == account_id)).all()
    return {r.user_name.lower(): PasswordFacts(r.changed_at, r.last_used_at) for r in rows}


def _certificates_by_owner(conn: Conn, account_id: str) -> dict[str | None, list[CertificateFacts]]:
    """Signing certificates grouped by lower-cased user name (None: the root user's)."""
    grouped: dict[str | None, list[CertificateFacts]] = defaultdict(list)
    for c in store.list_entities(conn, account_id, SIGNING_CERTIFICATE):
        owner = str(c.data["UserName"]).lower() if c.data.get("UserName") else None
        grouped[owner].append(CertificateFacts(c.data.get("Status") == "Active", c.created_at))
    return grouped


def _report_facts(conn: Conn, account_id: str) -> tuple[PrincipalFacts, list[PrincipalFacts]]:
    """The root user's and every IAM user's facts, as the report needs them."""
    created = conn.execute(select(accounts.c.created_at).where(accounts.c.account_id == account_id)).scalar()
    keys = _keys_by_owner(conn, account_id)
    passwords = _passwords(conn, account_id)
    certificates = _certificates_by_owner(conn, account_id)
    user_keys = {owner.lower(): ks for owner, ks in keys.items() if owner is not None}
    devices = store.list_entities(conn, account_id, store.MFA)
    with_mfa = {str(d.data["UserName"]).lower() for d in devices if d.data.get("UserName")}
    root = PrincipalFacts(
        "<root_account>",
        f"arn:aws:iam::{account_id}:root",
        created or dt.datetime.now(dt.UTC),
        mfa_active=_root_mfa_enabled(devices),
        keys=keys.get(None, []),
        certificates=certificates.get(None, []),
    )
    users = [
        PrincipalFacts(
            u.name,
            u.arn,
            u.created_at,
            passwords.get(u.name.lower()),
            u.name.lower() in with_mfa,
            user_keys.get(u.name.lower(), []),
            certificates.get(u.name.lower(), []),
        )
        for u in store.list_entities(conn, account_id, store.USER)
    ]
    return root, users


@handler("iam", "GenerateCredentialReport")
def generate_credential_report(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Build the report now unless one younger than four hours exists (AWS's rule).

    Generation is synchronous: the call that builds it answers STARTED, as
    AWS's first call does, and the next ones COMPLETE.
    """
    account_id = call.account_id or ""
    call.gateway.accounts.flush_key_use()
    now = call.received_at
    with call.gateway.db.session() as s:
        settings = _settings(s, account_id)
        at = settings.credential_report_at if settings is not None else None
        if settings is not None and settings.credential_report is not None and at is not None:
            if now - at < REPORT_LIFETIME:
                return {"State": "COMPLETE"}
        root, users = _report_facts(s, account_id)
        content = build_report(root, users, _max_password_age(settings))
        ensure_settings_row(s, account_id)
        s.execute(
            update(iam_account_settings)
            .where(iam_account_settings.c.account_id == account_id)
            .values(credential_report=content, credential_report_at=now)
        )
    return {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}


@handler("iam", "GetCredentialReport")
def get_credential_report(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The stored CSV; ReportNotPresent before generation, ReportExpired after four hours."""
    with call.gateway.db.read() as conn:
        settings = _settings(conn, call.account_id or "")
    if settings is None or settings.credential_report is None or settings.credential_report_at is None:
        raise ReportNotPresent(
            "The credential report does not exist. To generate a credential report, use GenerateCredentialReport."
        )
    if call.received_at - settings.credential_report_at >= REPORT_LIFETIME:
        raise ReportExpired(
            "The most recent credential report has expired. "
            "To generate a new credential report, use GenerateCredentialReport."
        )
    return {
        "Content": bytes(settings.credential_report),
        "ReportFormat": "text/csv",
        "GeneratedTime": settings.credential_report_at,
    }


# --- GetAccountAuthorizationDetails ------------------------------------------------------------


@dataclass(slots=True)
class _Snapshot:
    """Everything the authorization details draw on, read once in one transaction."""

    users: list[store.Entity]
    groups: list[store.Entity]
    roles: list[store.Entity]
    policies: list[store.Entity]
    profiles: dict[str, store.Entity]
    inline: dict[tuple[str, str], list[tuple[str, str]]]
    attached: dict[tuple[str, str], list[str]]
    members: dict[str, list[str]]
    profile_roles: dict[str, list[str]]
    profile_members: dict[str, list[str]]
    versions: dict[str, list[Any]]


def _version_number(version_id: str) -> int:
    return int(version_id[1:]) if version_id[1:].isdigit() else 0


def _snapshot(conn: Conn, account_id: str) -> _Snapshot:
    def rows(table: Any) -> list[Any]:
        return conn.execute(select(table).where(table.c.account_id == account_id)).all()

    inline: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in sorted(rows(iam_inline_policies), key=lambda r: r.policy_name.lower()):
        inline[(r.owner_kind, r.owner_name.lower())].append((r.policy_name, r.document))
    attached: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in sorted(rows(iam_attachments), key=lambda r: r.policy_arn):
        attached[(r.owner_kind, r.owner_name.lower())].append(r.policy_arn)
    members: dict[str, list[str]] = defaultdict(list)
    for r in rows(iam_group_members):
        members[r.user_name.lower()].append(r.group_name)
    profile_roles: dict[str, list[str]] = defaultdict(list)
    profile_members: dict[str, list[str]] = defaultdict(list)
    for r in rows(iam_instance_profile_roles):
        profile_roles[r.role_name.lower()].append(r.profile_name)
        profile_members[r.profile_name.lower()].append(r.role_name)
    versions: dict[str, list[Any]] = defaultdict(list)
    for r in sorted(rows(iam_policy_versions), key=lambda r: _version_number(r.version_id), reverse=True):
        versions[r.policy_name.lower()].append(r)  # newest first, as AWS lists them
    profiles = {p.name.lower(): p for p in store.list_entities(conn, account_id, store.INSTANCE_PROFILE)}
    return _Snapshot(
        store.list_entities(conn, account_id, store.USER),
        store.list_entities(conn, account_id, store.GROUP),
        store.list_entities(conn, account_id, store.ROLE),
        store.list_entities(conn, account_id, store.POLICY),
        profiles,
        inline,
        attached,
        members,
        profile_roles,
        profile_members,
        versions,
    )


def _attached_list(arns: list[str]) -> list[dict[str, str]]:
    return [{"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in arns]


def _inline_list(policies: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"PolicyName": name, "PolicyDocument": store.encode_document(doc)} for name, doc in policies]


def _common(entity: store.Entity, noun: str) -> dict[str, Any]:
    return {
        "Path": entity.path,
        f"{noun}Name": entity.name,
        f"{noun}Id": entity.entity_id,
        "Arn": entity.arn,
        "CreateDate": entity.created_at,
    }


def _user_detail(snap: _Snapshot, user: store.Entity) -> dict[str, Any]:
    key = user.name.lower()
    out = _common(user, "User")
    out["UserPolicyList"] = _inline_list(snap.inline.get(("user", key), []))
    out["GroupList"] = sorted(snap.members.get(key, []), key=str.lower)
    out["AttachedManagedPolicies"] = _attached_list(snap.attached.get(("user", key), []))
    out.update(boundary_output(user))
    out["Tags"] = user.tags
    return out


def _group_detail(snap: _Snapshot, group: store.Entity) -> dict[str, Any]:
    key = group.name.lower()
    out = _common(group, "Group")
    out["GroupPolicyList"] = _inline_list(snap.inline.get(("group", key), []))
    out["AttachedManagedPolicies"] = _attached_list(snap.attached.get(("group", key), []))
    return out


def _role_summary(role: store.Entity) -> dict[str, Any]:
    """A role as an instance profile lists it."""
    out = _common(role, "Role")
    out["AssumeRolePolicyDocument"] = store.encode_document(role.data.get("AssumeRolePolicyDocument", ""))
    return out


def _profile(snap: _Snapshot, name: str, roles_by_name: dict[str, store.Entity]) -> dict[str, Any] | None:
    """An instance profile with the roles in it, as a role's InstanceProfileList shows it."""
    profile = snap.profiles.get(name.lower())
    if profile is None:
        return None
    out = _common(profile, "InstanceProfile")
    inside = snap.profile_members.get(name.lower(), [])
    members = [roles_by_name[r.lower()] for r in inside if r.lower() in roles_by_name]
    out["Roles"] = [_role_summary(r) for r in members]
    out["Tags"] = profile.tags
    return out


def _role_detail(snap: _Snapshot, role: store.Entity, roles_by_name: dict[str, store.Entity]) -> dict[str, Any]:
    key = role.name.lower()
    out = _common(role, "Role")
    out["AssumeRolePolicyDocument"] = store.encode_document(role.data.get("AssumeRolePolicyDocument", ""))
    profiles = [_profile(snap, p, roles_by_name) for p in sorted(snap.profile_roles.get(key, []), key=str.lower)]
    out["InstanceProfileList"] = [p for p in profiles if p is not None]
    out["RolePolicyList"] = _inline_list(snap.inline.get(("role", key), []))
    out["AttachedManagedPolicies"] = _attached_list(snap.attached.get(("role", key), []))
    out.update(boundary_output(role))
    out["Tags"] = role.tags
    recorded = role.data.get("RoleLastUsed") or {}
    last: dict[str, Any] = {}
    if recorded.get("LastUsedDate"):
        last["LastUsedDate"] = store.from_iso(str(recorded["LastUsedDate"]))
    if recorded.get("Region"):
        last["Region"] = recorded["Region"]
    out["RoleLastUsed"] = last
    return out


def _usage(snap: _Snapshot, arn: str) -> tuple[int, int]:
    """(attachment count, permissions-boundary usage count) of a managed policy."""
    attachments = sum(arns.count(arn) for arns in snap.attached.values())
    boundaries = sum(1 for e in (*snap.users, *snap.roles) if e.data.get("PermissionsBoundary") == arn)
    return attachments, boundaries


def _local_policy_detail(snap: _Snapshot, policy: store.Entity) -> dict[str, Any]:
    attachments, boundaries = _usage(snap, policy.arn)
    out: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.entity_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.data.get("DefaultVersionId", "v1"),
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": boundaries,
        "IsAttachable": True,
    }
    if policy.data.get("Description"):
        out["Description"] = policy.data["Description"]
    out["CreateDate"] = policy.created_at
    out["UpdateDate"] = store.from_iso(policy.data.get("UpdateDate")) or policy.created_at
    out["PolicyVersionList"] = [
        {
            "Document": store.encode_document(v.document),
            "VersionId": v.version_id,
            "IsDefaultVersion": bool(v.is_default),
            "CreateDate": v.created_at,
        }
        for v in snap.versions.get(policy.name.lower(), [])
    ]
    return out


def _aws_policy_detail(snap: _Snapshot, arn: str) -> dict[str, Any] | None:
    from rampart.services.iam.managed import (
        aws_managed_policy,  # imported late: large data (policies area)
    )

    policy = aws_managed_policy(arn)
    if policy is None:
        return None
    attachments, boundaries = _usage(snap, arn)
    out: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version_id,
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": boundaries,
        "IsAttachable": True,
    }
    if policy.description:
        out["Description"] = policy.description
    out["CreateDate"] = policy.create_date
    out["UpdateDate"] = policy.update_date
    out["PolicyVersionList"] = [
        {
            "Document": store.encode_document(policy.document),
            "VersionId": policy.default_version_id,
            "IsDefaultVersion": True,
            "CreateDate": policy.update_date,
        }
    ]
    return out


def _aws_policies_in_use(snap: _Snapshot) -> list[str]:
    """AWS managed policies the account uses (attached or as a boundary): AWS lists only those."""
    used = {arn for arns in snap.attached.values() for arn in arns if arn.startswith(AWS_POLICY_PREFIX)}
    used |= {
        str(e.data["PermissionsBoundary"])
        for e in (*snap.users, *snap.roles)
        if str(e.data.get("PermissionsBoundary", "")).startswith(AWS_POLICY_PREFIX)
    }
    return sorted(used)


Item = tuple[str, str, Callable[[], dict[str, Any] | None]]


def _items(snap: _Snapshot, wanted: set[str]) -> list[Item]:
    """Every detail entry, lazily built, under a sort key that orders users, groups, roles, policies."""
    roles_by_name = {r.name.lower(): r for r in snap.roles}
    items: list[Item] = []
    if "User" in wanted:
        items += [(f"0:{u.name.lower()}", "UserDetailList", lambda u=u: _user_detail(snap, u)) for u in snap.users]
    if "Group" in wanted:
        items += [(f"1:{g.name.lower()}", "GroupDetailList", lambda g=g: _group_detail(snap, g)) for g in snap.groups]
    if "Role" in wanted:
        items += [
            (f"2:{r.name.lower()}", "RoleDetailList", lambda r=r: _role_detail(snap, r, roles_by_name))
            for r in snap.roles
        ]
    if "LocalManagedPolicy" in wanted:
        items += [
            (f"3:{p.name.lower()}|{p.arn}", "Policies", lambda p=p: _local_policy_detail(snap, p))
            for p in snap.policies
        ]
    if "AWSManagedPolicy" in wanted:
        items += [
            (f"3:{arn.rsplit('/', 1)[-1].lower()}|{arn}", "Policies", lambda arn=arn: _aws_policy_detail(snap, arn))
            for arn in _aws_policies_in_use(snap)
        ]
    return sorted(items, key=lambda item: item[0])


ENTITY_TYPES = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")


@handler("iam", "GetAccountAuthorizationDetails")
def get_account_authorization_details(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Users, groups, roles and managed policies with their relationships, paged as one list."""
    wanted = set(params.get("Filter") or ENTITY_TYPES)
    with call.gateway.db.read() as conn:
        snap = _snapshot(conn, call.account_id or "")
    chunk, extra = store.page(_items(snap, wanted), params, key=lambda item: item[0])
    out: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for _key, section, build in chunk:
        detail = build()
        if detail is not None:
            out[section].append(detail)
    return {**out, **extra}
