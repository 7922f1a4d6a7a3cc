"""Bucket sub-resources that decide access: bucket policy, Block Public Access, Object Ownership, ACLs.

Each is one stored document per bucket (``store.put_config``). Everything
that changes who can reach a bucket is checked here against AWS's rules
before it is stored: a public policy under BlockPublicPolicy, a public ACL
under BlockPublicAcls, any non-owner ACL under BucketOwnerEnforced.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any

import orjson

from rampart.aws.errors import AccessDenied, AwsError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler, on_gateway
from rampart.policy import MalformedPolicyDocument, PolicyType, validate_policy
from rampart.services.s3 import acl as acls
from rampart.services.s3.access import (
    POLICY_KIND,
    object_store_function,
    object_version,
    policy_document_text,
)
from rampart.services.s3.errors import (
    MethodNotAllowed,
    NoSuchKey,
)
from rampart.services.s3.public import (
    FLAGS,
    PAB_KIND,
    block_settings,
    normalized,
    policy_is_public,
)
from rampart.services.s3.store import (
    Bucket,
    Conn,
    delete_config,
    get_config,
    put_config,
    require_bucket,
)

MAX_POLICY_BYTES = 20 * 1024


class MalformedPolicy(AwsError):
    """A bucket policy S3 refuses."""

    code = "MalformedPolicy"
    status = 400


class NoSuchBucketPolicy(AwsError):
    """GetBucketPolicy on a bucket without a policy."""

    code = "NoSuchBucketPolicy"
    status = 404


class NoSuchPublicAccessBlockConfiguration(AwsError):
    """GetPublicAccessBlock where none is set."""

    code = "NoSuchPublicAccessBlockConfiguration"
    status = 404


class OwnershipControlsNotFoundError(AwsError):
    """GetBucketOwnershipControls after the controls were deleted."""

    code = "OwnershipControlsNotFoundError"
    status = 404


class InvalidBucketAclWithObjectOwnership(AwsError):
    """BucketOwnerEnforced cannot be set while the bucket ACL grants others."""

    code = "InvalidBucketAclWithObjectOwnership"
    status = 400


class MissingSecurityHeader(AwsError):
    """PutBucketAcl / PutObjectAcl without any ACL."""

    code = "MissingSecurityHeader"
    status = 400


# --- shared -------------------------------------------------------------------------


def _owner_only(call: Call, bucket: Bucket) -> None:
    """Policy operations: a caller from another account is refused even when a policy allows it."""
    if call.account_id != bucket.account_id:
        raise MethodNotAllowed("The specified method is not allowed against this resource.",
                               fields={"Method": call.operation, "ResourceType": "BUCKETPOLICY"})


# --- bucket policy ------------------------------------------------------------------

_AWS_PRINCIPAL = re.compile(r"^(\*|\d{12}|arn:aws:iam::\d{12}:(root|user/.+|role/.+)|arn:aws:sts::\d{12}:(assumed-role|federated-user)/.+)$")


def check_bucket_policy(text: str, bucket: str, conn: Conn) -> dict[str, Any]:
    """The parsed policy, or MalformedPolicy with S3's wording for what it refuses."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise MalformedPolicy("Policy exceeds the maximum allowed document size.")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'") from None
    if not isinstance(document, dict):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    raw = document.get("Statement")
    statements = raw if isinstance(raw, list) else [raw]
    if raw is None or not statements:
        raise MalformedPolicy("Missing required field Statement")
    for statement in statements:
        if isinstance(statement, dict):
            _check_statement(statement, bucket, conn)
    try:
        validate_policy(text, PolicyType.RESOURCE)
    except MalformedPolicyDocument as caught:
        raise MalformedPolicy(caught.message) from None
    return document


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_statement(statement: Mapping[str, Any], bucket: str, conn: Conn) -> None:
    if "Principal" not in statement and "NotPrincipal" not in statement:
        raise MalformedPolicy("Missing required field Principal")
    _check_principal(statement.get("Principal", statement.get("NotPrincipal")), conn)
    for action in _values(statement.get("Action", statement.get("NotAction"))):
        if not isinstance(action, str) or not (action == "*" or action.lower().startswith("s3:")):
            raise MalformedPolicy("Policy has invalid action")
    for resource in _values(statement.get("Resource", statement.get("NotResource"))):
        if not isinstance(resource, str) or not _in_bucket(resource, bucket):
            raise MalformedPolicy("Policy has invalid resource")


def _in_bucket(resource: str, bucket: str) -> bool:
    prefix = "arn:aws:s3:::"
    if not resource.startswith(prefix):
        return False
    name = resource[len(prefix):].partition("/")[0]
    return name == bucket or (("*" in name or "?" in name) and re.fullmatch(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name), bucket) is not None)


def _check_principal(principal: Any, conn: Conn) -> None:
    if principal == "*":
        return
    if not isinstance(principal, Mapping) or not principal:
        raise MalformedPolicy("Invalid principal in policy")
    for kind, values in principal.items():
        for value in _values(values):
            if not isinstance(value, str) or not _principal_ok(kind, value, conn):
                raise MalformedPolicy("Invalid principal in policy")


def _principal_ok(kind: str, value: str, conn: Conn) -> bool:
    if kind == "AWS":
        return _AWS_PRINCIPAL.match(value) is not None
    if kind == "Service":
        return bool(value) and " " not in value
    if kind == "CanonicalUser":
        return acls.account_for_canonical(conn, value) is not None
    if kind == "Federated":
        return bool(value)
    return False


@handler("s3", "PutBucketPolicy")
def put_bucket_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Store a validated policy; a public one is refused under BlockPublicPolicy."""
    text = params.get("Policy")
    text = text.decode() if isinstance(text, bytes) else str(text or "")
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        _owner_only(call, bucket)
        document = check_bucket_policy(text, bucket.name, session)
        if block_settings(session, bucket)["BlockPublicPolicy"] and policy_is_public(document):
            who = call.caller.arn or "anonymous"
            raise AccessDenied(f"User: {who} is not authorized to perform: s3:PutBucketPolicy on resource: "
                               f"\"{bucket.arn}\" because public policies are blocked by the BlockPublicPolicy "
                               "block public access setting.")
        put_config(session, bucket.name, POLICY_KIND, document)
    return {}


@handler("s3", "GetBucketPolicy")
def get_bucket_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The stored policy text."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        _owner_only(call, bucket)
        document = get_config(conn, bucket.name, POLICY_KIND)
    if document is None:
        raise NoSuchBucketPolicy("The bucket policy does not exist", fields={"BucketName": bucket.name})
    return {"Policy": policy_document_text(document)}


@handler("s3", "DeleteBucketPolicy")
def delete_bucket_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the policy (deleting none is not an error)."""
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        _owner_only(call, bucket)
        delete_config(session, bucket.name, POLICY_KIND)
    return {}


@handler("s3", "GetBucketPolicyStatus")
def get_bucket_policy_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """IsPublic, computed from the policy (and its ACL grants are not part of it, as in AWS)."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        document = get_config(conn, bucket.name, POLICY_KIND)
    if document is None:
        raise NoSuchBucketPolicy("The bucket policy does not exist", fields={"BucketName": bucket.name})
    return {"PolicyStatus": {"IsPublic": policy_is_public(document)}}


# --- Block Public Access ------------------------------------------------------------


@handler("s3", "PutPublicAccessBlock")
def put_public_access_block(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Set the bucket's four flags (missing ones are false)."""
    config = params.get("PublicAccessBlockConfiguration") or {}
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        put_config(session, bucket.name, PAB_KIND, normalized(config))
    return {}


@handler("s3", "GetPublicAccessBlock")
def get_public_access_block(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The bucket's own flags (not the account's)."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        found = get_config(conn, bucket.name, PAB_KIND)
    if found is None:
        raise NoSuchPublicAccessBlockConfiguration("The public access block configuration was not found",
                                                   fields={"BucketName": bucket.name})
    return {"PublicAccessBlockConfiguration": {flag: bool(found.get(flag)) for flag in FLAGS}}


@handler("s3", "DeletePublicAccessBlock")
def delete_public_access_block(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the bucket's flags (the account's still apply)."""
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        delete_config(session, bucket.name, PAB_KIND)
    return {}


# --- Object Ownership ---------------------------------------------------------------


@handler("s3", "PutBucketOwnershipControls")
def put_ownership_controls(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Set Object Ownership; BucketOwnerEnforced needs an owner-only bucket ACL."""
    rules = (params.get("OwnershipControls") or {}).get("Rules") or []
    value = rules[0].get("ObjectOwnership") if len(rules) == 1 and isinstance(rules[0], Mapping) else None
    if value not in acls.OWNERSHIPS:
        raise AwsError("The XML you provided was not well-formed or did not validate against our published schema",
                       code="MalformedXML", status=400)
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        current = get_config(session, bucket.name, acls.ACL_KIND)
        if value == acls.ENFORCED and current and not acls.owner_only(current, bucket.account_id):
            raise InvalidBucketAclWithObjectOwnership(
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
        put_config(session, bucket.name, acls.OWNERSHIP_KIND, acls.ownership_document(value))
    return {}


@handler("s3", "GetBucketOwnershipControls")
def get_ownership_controls(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The setting (BucketOwnerEnforced for a bucket nobody configured)."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        stored = get_config(conn, bucket.name, acls.OWNERSHIP_KIND)
    if stored is not None and not stored.get("Rules"):
        raise OwnershipControlsNotFoundError("The bucket ownership controls were not found",
                                             fields={"BucketName": bucket.name})
    return {"OwnershipControls": stored or acls.ownership_document(acls.ENFORCED)}


@handler("s3", "DeleteBucketOwnershipControls")
def delete_ownership_controls(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Forget the setting: the bucket behaves as ObjectWriter (ACLs count again)."""
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        put_config(session, bucket.name, acls.OWNERSHIP_KIND, {"Rules": []})
    return {}


# --- ACLs ---------------------------------------------------------------------------


def _requested_acl(call: Call, conn: Conn, bucket: Bucket, params: Mapping[str, Any], owner: str) -> dict[str, Any]:
    acl = acls.acl_from_params(params, owner, bucket.account_id, conn)
    if acl is None:
        raise MissingSecurityHeader("Your request was missing a required header", fields={"MissingHeaderName": "x-amz-acl"})
    acls.check_settable(conn, bucket, acl)
    return acl


@handler("s3", "PutBucketAcl")
def put_bucket_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the bucket ACL (refused when ACLs are disabled or a public ACL is blocked)."""
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        acl = _requested_acl(call, session, bucket, params, bucket.account_id)
        put_config(session, bucket.name, acls.ACL_KIND, acl)
    return {}


@handler("s3", "GetBucketAcl")
def get_bucket_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The bucket ACL (owner full control when ACLs are disabled or none was set)."""
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        stored = get_config(conn, bucket.name, acls.ACL_KIND)
        if acls.ownership_of(conn, bucket.name) == acls.ENFORCED:
            stored = None
    found = stored or acls.default_acl(bucket.account_id)
    return {"Owner": found["Owner"], "Grants": found["Grants"]}


def _object_functions() -> tuple[Any, Any]:
    getter = object_store_function("get_object_acl")
    setter = object_store_function("set_object_acl")
    if getter is None or setter is None:
        raise AwsError("Object ACLs need the object store.", code="NotImplemented", status=501)
    return getter, setter


def _no_such_key(params: Mapping[str, Any]) -> NoSuchKey:
    return NoSuchKey(str(params.get("Key")))


@handler("s3", "PutObjectAcl")
def put_object_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace an object's ACL (the object's owner stays; under ObjectWriter that may be the writer)."""
    _, setter = _object_functions()
    key, version = params["Key"], params.get("VersionId")
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        owner = _object_owner(session, bucket, key, version, params)
        acl = _requested_acl(call, session, bucket, params, owner)
        if setter(session, bucket.name, key, version, acl) is False:
            raise _no_such_key(params)
    return {}


def _object_owner(conn: Conn, bucket: Bucket, key: str, version: str | None, params: Mapping[str, Any]) -> str:
    """The account owning an existing object version (NoSuchKey when there is none): the ACL's Owner."""
    found = object_version(conn, bucket.name, key, version)
    if found is None:
        raise _no_such_key(params)
    return acls.effective_owner(acls.ownership_of(conn, bucket.name), bucket.account_id, found.owner_id)


@handler("s3", "GetObjectAcl")
def get_object_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """An object's ACL (owner full control when none was set or ACLs are disabled)."""
    getter, _ = _object_functions()
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        owner = _object_owner(conn, bucket, params["Key"], params.get("VersionId"), params)
        stored = getter(conn, bucket.name, params["Key"], params.get("VersionId"))
        if acls.ownership_of(conn, bucket.name) == acls.ENFORCED:
            stored = None
    found = stored or acls.default_acl(owner)
    return {"Owner": found["Owner"], "Grants": found["Grants"]}


# --- CreateBucket's access members ----------------------------------------------------


def on_bucket_created(call: Call, session: Any, bucket: Bucket, params: dict[str, Any]) -> None:
    """Store CreateBucket's ObjectOwnership and ACL (inside its transaction), refusing what S3 refuses."""
    ownership = params.get("ObjectOwnership") or acls.ENFORCED
    put_config(session, bucket.name, acls.OWNERSHIP_KIND, acls.ownership_document(ownership))
    acl = acls.acl_from_params(params, bucket.account_id, bucket.account_id, session)
    if acl is None:
        return
    if ownership == acls.ENFORCED and not acls.owner_only(acl, bucket.account_id):
        raise InvalidBucketAclWithObjectOwnership(
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
    acls.check_settable(session, bucket, acl)
    put_config(session, bucket.name, acls.ACL_KIND, acl)


@on_gateway
def wire(gateway: Any) -> None:
    """Join the data path's handlers: CreateBucket stores ownership and ACL, new objects get their ACL."""
    _join("rampart.services.s3.buckets", "bucket_created_hooks", on_bucket_created)
    _join("rampart.services.s3.objects", "new_object_acl_hooks", acls.object_acl_from_request)


def _join(module: str, name: str, hook: Any) -> None:
    try:
        hooks = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return
    if isinstance(hooks, list) and hook not in hooks:
        hooks.append(hook)
