"""Access control lists: canned and explicit ACLs, Object Ownership, and what grants amount to.

An ACL is stored as the shape GetBucketAcl / GetObjectAcl answer
(``{"Owner": {...}, "Grants": [{"Grantee": {...}, "Permission": ...}]}``).
For authorization each grant becomes an Allow statement of the resource
policy (``grant_statements``): AllUsers is Principal "*", AuthenticatedUsers
is "*" for signed callers, a canonical user is its account (so the account's
users still need identity policies, as with a bucket policy granting an account).

Object Ownership decides whether ACLs count at all: BucketOwnerEnforced (the
default of new buckets) disables them; only ACLs that give the bucket owner
full control may still be sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from rampart.aws.errors import AccessDenied, AwsError
from rampart.gateway.call import Call
from rampart.services.s3.public import block_settings
from rampart.services.s3.store import Bucket, Conn, get_config
from rampart.storage.schema import accounts

ACL_KIND = "acl"
OWNERSHIP_KIND = "ownership"
ENFORCED = "BucketOwnerEnforced"
OWNERSHIPS = ("BucketOwnerPreferred", "ObjectWriter", ENFORCED)

GROUPS = "http://acs.amazonaws.com/groups/"
ALL_USERS = GROUPS + "global/AllUsers"
AUTHENTICATED_USERS = GROUPS + "global/AuthenticatedUsers"
LOG_DELIVERY = GROUPS + "s3/LogDelivery"
PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
GRANT_MEMBERS = {
    "GrantFullControl": "FULL_CONTROL",
    "GrantRead": "READ",
    "GrantReadACP": "READ_ACP",
    "GrantWrite": "WRITE",
    "GrantWriteACP": "WRITE_ACP",
}

# Which S3 actions each ACL permission grants (S3 User Guide, "ACL permission mapping").
BUCKET_ACTIONS = {
    "READ": ("s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"),
    "WRITE": ("s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"),
    "READ_ACP": ("s3:GetBucketAcl",),
    "WRITE_ACP": ("s3:PutBucketAcl",),
}
OBJECT_ACTIONS = {
    "READ": ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent"),
    "READ_ACP": ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "WRITE_ACP": ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    "WRITE": (),
}


class AccessControlListNotSupported(AwsError):
    """The bucket's Object Ownership is BucketOwnerEnforced: ACLs are disabled."""

    code = "AccessControlListNotSupported"
    status = 400


class InvalidArgument(AwsError):
    """A request member S3 cannot accept (AWS puts the member in ArgumentName/Value)."""

    code = "InvalidArgument"
    status = 400


class MalformedACLError(AwsError):
    """An AccessControlPolicy that is not a valid ACL."""

    code = "MalformedACLError"
    status = 400


class UnresolvableGrantByEmailAddress(AwsError):
    """A grant by e-mail address: Rampart accounts have none."""

    code = "UnresolvableGrantByEmailAddress"
    status = 400


# --- identities ---------------------------------------------------------------------


def canonical_id(account_id: str) -> str:
    """The account's canonical user id: 64 hex digits, stable, the same on every server."""
    return hashlib.sha256(f"rampart/s3/canonical-user/{account_id}".encode()).hexdigest()


def owner_of(account_id: str) -> dict[str, str]:
    """The Owner member S3 answers for an account (ListBuckets, ACLs)."""
    return {"ID": canonical_id(account_id), "DisplayName": account_id}


def account_for_canonical(conn: Conn, canonical: str) -> str | None:
    """The account whose canonical id this is, or None (accounts are few; ids are one-way)."""
    for account_id in conn.execute(select(accounts.c.account_id)).scalars():
        if canonical_id(account_id) == canonical.lower():
            return account_id
    return None


# --- ownership ----------------------------------------------------------------------


def ownership_of(conn: Conn, bucket: str) -> str:
    """The bucket's Object Ownership setting (BucketOwnerEnforced when never set, as for new buckets)."""
    return ownership_from(get_config(conn, bucket, OWNERSHIP_KIND))


def ownership_from(found: Any) -> str:
    """The Object Ownership a stored ownership document sets (BucketOwnerEnforced when none)."""
    rules = found.get("Rules") if isinstance(found, Mapping) else None
    if rules and isinstance(rules[0], Mapping) and rules[0].get("ObjectOwnership") in OWNERSHIPS:
        return rules[0]["ObjectOwnership"]
    return ENFORCED


def ownership_document(value: str) -> dict[str, Any]:
    """The stored (and answered) OwnershipControls for one setting."""
    return {"Rules": [{"ObjectOwnership": value}]}


BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"


def new_object_owner(ownership: str, writer: str | None, bucket_owner: str, canned: str | None) -> str:
    """The account that owns an object a writer uploads (S3 User Guide, "Controlling ownership of objects").

    BucketOwnerEnforced: the bucket owner, always. ObjectWriter: the writer.
    BucketOwnerPreferred: the bucket owner when the writer sent the
    bucket-owner-full-control canned ACL, the writer otherwise. An anonymous
    writer (no account) leaves the object with the bucket owner.
    """
    if ownership == ENFORCED or writer is None:
        return bucket_owner
    if ownership == "BucketOwnerPreferred" and canned == BUCKET_OWNER_FULL_CONTROL:
        return bucket_owner
    return writer


def effective_owner(ownership: str, bucket_owner: str, stored_owner: str | None) -> str:
    """Who owns a stored object now: under BucketOwnerEnforced the bucket owner owns every object,
    whoever wrote it (switching to it takes ownership of existing objects); otherwise the stored owner."""
    if ownership == ENFORCED or not stored_owner:
        return bucket_owner
    return stored_owner


# --- building ACLs ------------------------------------------------------------------


def _group(uri: str, permission: str) -> dict[str, Any]:
    return {"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission}


def _user(owner: Mapping[str, str], permission: str) -> dict[str, Any]:
    return {"Grantee": {"Type": "CanonicalUser", **owner}, "Permission": permission}


def canned_acl(name: str, owner_account: str, bucket_owner_account: str) -> dict[str, Any]:
    """The ACL a canned ACL name stands for (owner gets FULL_CONTROL in every one)."""
    owner = owner_of(owner_account)
    grants = [_user(owner, "FULL_CONTROL")]
    if name in ("public-read", "public-read-write"):
        grants.append(_group(ALL_USERS, "READ"))
    if name == "public-read-write":
        grants.append(_group(ALL_USERS, "WRITE"))
    if name == "authenticated-read":
        grants.append(_group(AUTHENTICATED_USERS, "READ"))
    if name == "log-delivery-write":
        grants += [_group(LOG_DELIVERY, "WRITE"), _group(LOG_DELIVERY, "READ_ACP")]
    if name in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner_account != owner_account:
        grants.append(_user(owner_of(bucket_owner_account), "READ" if name == "bucket-owner-read" else "FULL_CONTROL"))
    return {"Owner": owner, "Grants": grants}


_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*(?:,|$)', re.IGNORECASE)


def parse_grant_header(value: str, permission: str, conn: Conn) -> list[dict[str, Any]]:
    """Grants from an x-amz-grant-* header: ``id="...", uri="..."`` pairs, comma separated."""
    grants: list[dict[str, Any]] = []
    position = 0
    text = value.strip()
    while position < len(text):
        match = _GRANTEE.match(text, position)
        if match is None or match.end() == position:
            raise InvalidArgument("Argument format not recognized", fields={"ArgumentName": "x-amz-grant", "ArgumentValue": value[:256]})
        kind, raw = match.group(1).lower(), match.group(2).strip()
        grants.append({"Grantee": _grantee(kind, raw, conn), "Permission": permission})
        position = match.end()
    return grants


def _grantee(kind: str, value: str, conn: Conn) -> dict[str, str]:
    if kind == "uri":
        return {"Type": "Group", "URI": _known_group(value)}
    if kind == "id":
        return _canonical_user(value, conn)
    raise UnresolvableGrantByEmailAddress("The e-mail address you provided does not match any account on record.")


def _known_group(uri: str) -> str:
    if uri not in (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY):
        raise InvalidArgument("Invalid group uri", fields={"ArgumentName": "uri", "ArgumentValue": uri[:256]})
    return uri


def _canonical_user(value: str, conn: Conn) -> dict[str, str]:
    account = account_for_canonical(conn, value)
    if account is None:
        raise InvalidArgument("Invalid id", fields={"ArgumentName": "CanonicalUser/ID", "ArgumentValue": value[:256]})
    return {"Type": "CanonicalUser", **owner_of(account)}


def explicit_acl(policy: Mapping[str, Any], owner_account: str, conn: Conn) -> dict[str, Any]:
    """A checked AccessControlPolicy body (PutBucketAcl / PutObjectAcl): every grantee must resolve."""
    grants: list[dict[str, Any]] = []
    for grant in policy.get("Grants") or []:
        grantee = grant.get("Grantee") if isinstance(grant, Mapping) else None
        permission = grant.get("Permission") if isinstance(grant, Mapping) else None
        if not isinstance(grantee, Mapping) or permission not in PERMISSIONS:
            raise MalformedACLError("The XML you provided was not well-formed or did not validate against our published schema")
        kind = grantee.get("Type")
        if kind == "Group" and grantee.get("URI"):
            grants.append({"Grantee": {"Type": "Group", "URI": _known_group(str(grantee["URI"]))}, "Permission": permission})
        elif kind == "CanonicalUser" and grantee.get("ID"):
            grants.append({"Grantee": _canonical_user(str(grantee["ID"]), conn), "Permission": permission})
        elif kind == "AmazonCustomerByEmail":
            raise UnresolvableGrantByEmailAddress("The e-mail address you provided does not match any account on record.")
        else:
            raise MalformedACLError("The XML you provided was not well-formed or did not validate against our published schema")
    owner = policy.get("Owner")
    if isinstance(owner, Mapping) and owner.get("ID") and owner["ID"] != canonical_id(owner_account):
        raise AccessDenied("Access Denied")
    return {"Owner": owner_of(owner_account), "Grants": grants}


def acl_from_params(params: Mapping[str, Any], owner_account: str, bucket_owner: str, conn: Conn) -> dict[str, Any] | None:
    """The ACL a request sets through ACL, AccessControlPolicy or x-amz-grant-* (None: it sets none).

    AWS allows one way per request: a canned ACL with grant headers is an error.
    """
    canned = params.get("ACL")
    headers = {member: params[member] for member in GRANT_MEMBERS if params.get(member)}
    body = params.get("AccessControlPolicy")
    if canned and headers:
        raise InvalidArgument("Specifying both Canned ACLs and Header Grants is not allowed",
                              fields={"ArgumentName": "x-amz-acl", "ArgumentValue": str(canned)})
    if canned:
        return canned_acl(str(canned), owner_account, bucket_owner)
    if headers:
        grants = [g for member, value in headers.items() for g in parse_grant_header(str(value), GRANT_MEMBERS[member], conn)]
        return {"Owner": owner_of(owner_account), "Grants": grants}
    if isinstance(body, Mapping):
        return explicit_acl(body, owner_account, conn)
    return None


# --- what an ACL means --------------------------------------------------------------


def is_public_grant(grant: Mapping[str, Any]) -> bool:
    """A grant to AllUsers or AuthenticatedUsers (both count as public)."""
    grantee = grant.get("Grantee") or {}
    return grantee.get("Type") == "Group" and grantee.get("URI") in PUBLIC_GROUPS


def acl_is_public(acl: Mapping[str, Any] | None) -> bool:
    """Whether any grant of the ACL is public."""
    return bool(acl) and any(is_public_grant(g) for g in acl.get("Grants") or [])


def owner_only(acl: Mapping[str, Any], bucket_owner: str) -> bool:
    """Whether the ACL gives the bucket owner full control and nobody else anything (allowed when enforced)."""
    me = canonical_id(bucket_owner)
    for grant in acl.get("Grants") or []:
        grantee = grant.get("Grantee") or {}
        if grantee.get("ID") != me:
            return False
    return any((g.get("Grantee") or {}).get("ID") == me and g.get("Permission") == "FULL_CONTROL"
               for g in acl.get("Grants") or [])


def check_settable(conn: Conn, bucket: Bucket, acl: Mapping[str, Any]) -> None:
    """Refuse an ACL that Object Ownership or Block Public Access forbids on this bucket."""
    if ownership_of(conn, bucket.name) == ENFORCED and not owner_only(acl, bucket.account_id):
        raise AccessControlListNotSupported("The bucket does not allow ACLs")
    if acl_is_public(acl) and block_settings(conn, bucket)["BlockPublicAcls"]:
        raise AccessDenied("Access Denied")


def object_acl_from_request(call: Call, bucket: Bucket, params: dict[str, Any]) -> dict[str, Any] | None:
    """The ACL to store on a new object from PutObject / CopyObject / CreateMultipartUpload.

    None when the request names no ACL (the object is private to its owner).
    The ACL's Owner is the object's owner (``new_object_owner``). Raises AccessControlListNotSupported, AccessDenied
    (Block Public Access) or InvalidArgument as S3 does.
    """
    if not (params.get("ACL") or any(params.get(m) for m in GRANT_MEMBERS)):
        return None
    with call.gateway.db.read() as conn:
        owner = object_owner_from_request(call, bucket, params, ownership_of(conn, bucket.name))
        acl = acl_from_params(params, owner, bucket.account_id, conn)
        if acl is None:
            return None
        check_settable(conn, bucket, acl)
    return acl


def object_owner_from_request(call: Call, bucket: Bucket, params: Mapping[str, Any], ownership: str | None = None) -> str:
    """The account that will own the object PutObject / CopyObject / CreateMultipartUpload creates."""
    if ownership is None:
        with call.gateway.db.read() as conn:
            ownership = ownership_of(conn, bucket.name)
    canned = params.get("ACL")
    return new_object_owner(ownership, call.account_id, bucket.account_id, canned if isinstance(canned, str) else None)


def default_acl(owner_account: str) -> dict[str, Any]:
    """The ACL of a bucket or object nobody set one on: its owner has full control."""
    return canned_acl("private", owner_account, owner_account)


# --- grants as policy statements ----------------------------------------------------


def grant_statements(acl: Mapping[str, Any] | None, resource: str, owner_account: str, *, is_object: bool,
                     ignore_public: bool) -> list[dict[str, Any]]:
    """Allow statements equivalent to the ACL's grants on ``resource`` (object or bucket ARN).

    A bucket's WRITE applies to the objects in it, so it becomes a statement
    on ``bucket/*``. Public grants are dropped when IgnorePublicAcls is on;
    grants to the owner add nothing (its users' identity policies decide).
    """
    statements: list[dict[str, Any]] = []
    mine = canonical_id(owner_account)
    for grant in (acl or {}).get("Grants") or []:
        if (ignore_public and is_public_grant(grant)) or (grant.get("Grantee") or {}).get("ID") == mine:
            continue
        principal, condition = _principal_of(grant.get("Grantee") or {})
        if principal is None:
            continue
        for permission, actions, target in _actions_for(str(grant.get("Permission")), resource, is_object):
            statement: dict[str, Any] = {
                "Sid": f"acl-{permission}", "Effect": "Allow", "Principal": principal,
                "Action": list(actions), "Resource": target,
            }
            if condition:
                statement["Condition"] = condition
            statements.append(statement)
    return statements


def _principal_of(grantee: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    kind = grantee.get("Type")
    if kind == "Group":
        uri = grantee.get("URI")
        if uri == ALL_USERS:
            return "*", None
        if uri == AUTHENTICATED_USERS:
            return "*", {"StringNotEquals": {"aws:PrincipalType": "Anonymous"}}
        if uri == LOG_DELIVERY:
            return {"Service": "logging.s3.amazonaws.com"}, None
        return None, None
    if kind == "CanonicalUser" and grantee.get("DisplayName"):
        return {"AWS": f"arn:aws:iam::{grantee['DisplayName']}:root"}, None
    return None, None


def _actions_for(permission: str, resource: str, is_object: bool) -> list[tuple[str, tuple[str, ...], str]]:
    table = OBJECT_ACTIONS if is_object else BUCKET_ACTIONS
    names = [p for p in table if p != "FULL_CONTROL"] if permission == "FULL_CONTROL" else [permission]
    found = []
    for name in names:
        actions = table.get(name, ())
        if actions:
            target = f"{resource}/*" if (not is_object and name == "WRITE") else resource
            found.append((name, actions, target))
    return found
