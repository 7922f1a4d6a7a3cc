"""What S3 tells the authorizer: a bucket's or object's owner and effective resource policy, and S3's condition keys.

The resource policy the engine sees is the bucket policy merged with the
statements the ACLs amount to (``acl.grant_statements``), after Block
Public Access: IgnorePublicAcls drops public grants, RestrictPublicBuckets
drops a public policy's public statements for callers outside the bucket
owner's account. With Object Ownership BucketOwnerEnforced ACLs grant
nothing. A bucket that does not exist has no facts (the caller's own
policies decide; the handler then answers NoSuchBucket).
"""

from __future__ import annotations

import hmac
import importlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from rampart.aws.errors import AccessDenied, AwsError
from rampart.gateway.authorize import (
    ResourceFacts,
    set_context_resolver,
    set_resource_resolver,
)
from rampart.gateway.call import Call, Caller
from rampart.gateway.registry import on_gateway
from rampart.policy import CompiledPolicy, PolicyType, compile_policy
from rampart.policy.model import ContextValue
from rampart.services.s3 import acl as acls
from rampart.services.s3.facts import BucketFacts, bucket_facts, call_object
from rampart.services.s3.objects import parse_copy_source
from rampart.services.s3.public import PAB_KIND, effective_block, statement_is_public
from rampart.services.s3.store import Conn

POLICY_KIND = "policy"

# Request members that are S3 condition keys as they are (S3 User Guide, "condition keys for Amazon S3").
_MEMBER_KEYS = (
    ("Prefix", "s3:prefix"),
    ("Delimiter", "s3:delimiter"),
    ("MaxKeys", "s3:max-keys"),
    ("ACL", "s3:x-amz-acl"),
    ("GrantFullControl", "s3:x-amz-grant-full-control"),
    ("GrantRead", "s3:x-amz-grant-read"),
    ("GrantReadACP", "s3:x-amz-grant-read-acp"),
    ("GrantWrite", "s3:x-amz-grant-write"),
    ("GrantWriteACP", "s3:x-amz-grant-write-acp"),
    ("ServerSideEncryption", "s3:x-amz-server-side-encryption"),
    ("SSEKMSKeyId", "s3:x-amz-server-side-encryption-aws-kms-key-id"),
    ("VersionId", "s3:VersionId"),
    ("CopySource", "s3:x-amz-copy-source"),
    ("MetadataDirective", "s3:x-amz-metadata-directive"),
    ("StorageClass", "s3:x-amz-storage-class"),
    ("ObjectOwnership", "s3:x-amz-object-ownership"),
)


def split_arn(arn: str) -> tuple[str, str | None]:
    """(bucket, key or None) of an S3 ARN (arn:aws:s3:::bucket[/key])."""
    path = arn.split(":::", 1)[1] if ":::" in arn else ""
    bucket, slash, key = path.partition("/")
    return bucket, (key if slash else None)


def _objects() -> Any:
    """The object store (the data path's module), or None while this build has none."""
    try:
        return importlib.import_module("rampart.services.s3.objects_store")
    except ImportError:
        return None


def object_store_function(name: str) -> Callable[..., Any] | None:
    """A function of the object store, or None while it does not exist."""
    found = getattr(_objects(), name, None)
    return found if callable(found) else None


def object_version(conn: Conn, bucket: str, key: str, version_id: str | None = None) -> Any:
    """The object's current (or given) version, None when absent or a delete marker."""
    store = _objects()
    if store is None:
        return None
    found = store.get_version(conn, bucket, key, version_id) if version_id else store.get_latest(conn, bucket, key)
    return None if found is None or found.delete_marker else found


def object_exists(conn: Conn, bucket: str, key: str, version_id: str | None = None) -> bool:
    """Whether the key (or version) exists and is not a delete marker."""
    return object_version(conn, bucket, key, version_id) is not None


def object_acl(conn: Conn, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    """The stored ACL of an object's current (or given) version; None when unset or unknown."""
    found = object_version(conn, bucket, key, version_id)
    return found.acl if found is not None else None


def object_tags(conn: Conn, bucket: str, key: str, version_id: str | None = None) -> dict[str, str]:
    """An object's tags (for s3:ExistingObjectTag/*); empty when none or unknown."""
    found = object_version(conn, bucket, key, version_id)
    return dict(found.tags or {}) if found is not None else {}


def resource_facts(call: Call, arn: str) -> ResourceFacts:
    """The authorizer's resource resolver for ``arn:aws:s3:::...`` (from the bucket's cached snapshot)."""
    name, key = split_arn(arn)
    if not name:
        return ResourceFacts(arn)
    facts = bucket_facts(call, name)
    if facts is None:
        return ResourceFacts(arn)
    bucket = facts.bucket
    restricted = _block_of(facts)["RestrictPublicBuckets"] and call.account_id != bucket.account_id
    base = facts.derived.get(("statements", restricted, key is None))
    if base is None:
        base = facts.derived[("statements", restricted, key is None)] = _bucket_statements(facts, key is not None,
                                                                                          restricted)
    object_grants: list[dict[str, Any]] = []
    if key is not None and not _enforced(facts):
        found = call_object(call, name, key, requested_version(call, name, key))
        version = found if found is not None and not found.delete_marker else None
        owner = acls.effective_owner(acls.ownership_from(facts.document(acls.OWNERSHIP_KIND)), bucket.account_id,
                                     version.owner_id if version is not None else None)
        if owner != bucket.account_id and not _bucket_context(call, name, key):
            return _foreign_object_facts(facts, arn, owner, base, version.acl if version is not None else None)
        acl = version.acl if version is not None else None
        if acl:
            object_grants = acls.grant_statements(acl, arn, bucket.account_id, is_object=True,
                                                  ignore_public=_block_of(facts)["IgnorePublicAcls"])
    if object_grants:
        policy: CompiledPolicy | None = _compiled(bucket.name, [*base, *object_grants])
    else:
        compiled_key = ("compiled", restricted, key is None)
        if compiled_key not in facts.derived:
            facts.derived[compiled_key] = _compiled(bucket.name, base) if base else None
        policy = facts.derived[compiled_key]
    return ResourceFacts(arn, policy=policy, account=bucket.account_id)


# Operations S3 authorizes in the bucket context even when the key's current object belongs to another
# account: writing a key (a new object replaces the old) and deleting one (the bucket owner may always
# delete objects in its bucket, whoever owns them).
_BUCKET_CONTEXT_OPERATIONS = frozenset({
    "PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    "AbortMultipartUpload", "DeleteObject", "DeleteObjects",
})


def _bucket_context(call: Call, bucket: str, key: str) -> bool:
    """Whether this call writes or deletes ``bucket/key`` (rather than reading or changing an existing object).

    A copy's source is read in the object context even when it is also the
    destination, so a bucket owner cannot read a foreign object by copying
    it onto itself.
    """
    if call.operation not in _BUCKET_CONTEXT_OPERATIONS:
        return False
    params = call.params or {}
    if params.get("Bucket") != bucket:
        return False
    if call.operation == "DeleteObjects":
        return True
    if params.get("Key") != key:
        return False
    source = params.get("CopySource")
    if isinstance(source, str) and source:
        try:
            return parse_copy_source(source)[:2] != (bucket, key)
        except AwsError:
            return False
    return True


def _foreign_object_facts(facts: BucketFacts, arn: str, owner: str, base: list[dict[str, Any]],
                          acl: Any) -> ResourceFacts:
    """An object another account owns (ObjectWriter / BucketOwnerPreferred), read or changed in place.

    S3's object context: the object's owner is the resource account, only
    its ACL grants access (the bucket owner too needs a grant, e.g.
    bucket-owner-full-control); the bucket policy can still deny but no
    longer allows (the bucket owner cannot delegate what it does not own).
    """
    denies = [s for s in base if s.get("Effect") == "Deny"]
    grants = acls.grant_statements(acl or acls.default_acl(owner), arn, owner, is_object=True,
                                   ignore_public=_block_of(facts)["IgnorePublicAcls"])
    statements = [*denies, *grants]
    policy = _compiled(facts.bucket.name, statements) if statements else None
    return ResourceFacts(arn, policy=policy, account=owner)


def _block_of(facts: BucketFacts) -> dict[str, bool]:
    """The snapshot's effective Block Public Access flags (computed once per snapshot)."""
    found = facts.derived.get("block")
    if found is None:
        found = facts.derived["block"] = effective_block(facts.document(PAB_KIND), facts.account_document(PAB_KIND))
    return found  # type: ignore[no-any-return]


def _enforced(facts: BucketFacts) -> bool:
    """Object Ownership BucketOwnerEnforced: ACLs grant nothing."""
    return acls.ownership_from(facts.document(acls.OWNERSHIP_KIND)) == acls.ENFORCED


def _bucket_statements(facts: BucketFacts, for_objects: bool, restricted: bool) -> list[dict[str, Any]]:
    """The bucket policy's statements and the bucket ACL's grants, after Block Public Access and Object
    Ownership (``restricted``: RestrictPublicBuckets applies to this caller); for an object ARN only
    the grants that reach objects."""
    bucket = facts.bucket
    document = facts.document(POLICY_KIND) or {}
    raw = document.get("Statement", [])
    statements = [s for s in (raw if isinstance(raw, list) else [raw]) if isinstance(s, Mapping)]
    if restricted:
        statements = [s for s in statements if not statement_is_public(s)]
    if _enforced(facts):
        return list(statements)
    bucket_acl = facts.document(acls.ACL_KIND) or acls.default_acl(bucket.account_id)
    granted = acls.grant_statements(bucket_acl, bucket.arn, bucket.account_id, is_object=False,
                                    ignore_public=_block_of(facts)["IgnorePublicAcls"])
    if for_objects:
        granted = [s for s in granted if s["Resource"].endswith("/*")]  # the bucket's WRITE reaches its objects
    return [*statements, *granted]


def _compiled(bucket: str, statements: list[dict[str, Any]]) -> CompiledPolicy:
    document = orjson.dumps({"Version": "2012-10-17", "Statement": statements}).decode()
    return compile_policy(document, f"s3:{bucket}", PolicyType.RESOURCE)


def requested_version(call: Call, bucket: str, key: str) -> str | None:
    """The version of ``bucket/key`` the call names (its VersionId, its CopySource's versionId); None: the latest.

    Object ACLs belong to one version: the resource resolver, which sees
    only an ARN, must read the ACL of the version the handler will read,
    not the latest one (a public latest version must not open a private
    older one).
    """
    params = call.params or {}
    version = params.get("VersionId")
    if params.get("Bucket") == bucket and params.get("Key") == key and isinstance(version, str) and version:
        return version
    source = params.get("CopySource")
    if isinstance(source, str) and source:
        try:
            source_bucket, source_key, source_version = parse_copy_source(source)
        except AwsError:
            return None
        if (source_bucket, source_key) == (bucket, key) and source_version:
            return source_version
    return None


def check_expected_owners(call: Call, params: Mapping[str, Any]) -> None:
    """x-amz-expected-bucket-owner (and -source-bucket-owner of copies): another owner is AccessDenied.

    Checked here, during authorization, so that every bucket and object
    operation honours it before anything is read or written (S3 answers 403
    for a mismatch, whatever the caller's permissions).
    """
    pairs = (("Bucket", "ExpectedBucketOwner"), (None, "ExpectedSourceBucketOwner"))
    for bucket_member, owner_member in pairs:
        expected = params.get(owner_member)
        if not isinstance(expected, str) or not expected:
            continue
        name = params.get(bucket_member) if bucket_member else _copy_source_bucket(params)
        facts = bucket_facts(call, name) if isinstance(name, str) and name else None
        if facts is not None and not hmac.compare_digest(facts.bucket.account_id, expected):
            raise AccessDenied("Access Denied")


def _copy_source_bucket(params: Mapping[str, Any]) -> str | None:
    source = params.get("CopySource")
    if not isinstance(source, str) or not source:
        return None
    try:
        return parse_copy_source(source)[0]
    except AwsError:
        return None


def condition_context(call: Call, params: Mapping[str, Any], action: str) -> dict[str, ContextValue]:
    """S3's condition keys from the request (s3:prefix, s3:x-amz-acl, s3:ExistingObjectTag/*, ...)."""
    check_expected_owners(call, params)
    found: dict[str, ContextValue] = {}
    for member, key in _MEMBER_KEYS:
        value = params.get(member)
        if value is not None and value != "":
            found[key] = str(value)
    if call.caller.principal is not None:
        found.update(signature_keys(call.caller))
    tagging = params.get("Tagging")
    if isinstance(tagging, str) and tagging:
        pairs = parse_qsl(tagging, keep_blank_values=True)
        for tag, value in pairs:
            found[f"s3:RequestObjectTag/{tag}"] = value
        found["s3:RequestObjectTagKeys"] = [tag for tag, _ in pairs]
    found.update(_stored_keys(call, params, action))
    return found


def signature_keys(caller: Caller) -> dict[str, ContextValue]:
    """S3's keys about how the request was signed (User Guide, "SigV4 authentication-specific policy keys").

    Only what the request really had: s3:x-amz-content-sha256 only when the
    header was sent, s3:signatureAge only for presigned requests,
    s3:TlsVersion only on TLS connections whose version the transport knows.
    """
    found: dict[str, ContextValue] = {}
    if caller.signature_version:
        found["s3:signatureversion"] = caller.signature_version
    if caller.auth_type:
        found["s3:authType"] = caller.auth_type
    if caller.content_sha256:
        found["s3:x-amz-content-sha256"] = caller.content_sha256
    if caller.signature_age_ms is not None:
        found["s3:signatureAge"] = caller.signature_age_ms
    if caller.secure and caller.tls_version:
        found["s3:TlsVersion"] = caller.tls_version.removeprefix("TLSv")
    return found


def _stored_keys(call: Call, params: Mapping[str, Any], action: str) -> dict[str, ContextValue]:
    """Keys that need stored state: s3:ResourceAccount and the object's existing tags."""
    name = params.get("Bucket")
    if not isinstance(name, str) or not name:
        return {}
    facts = bucket_facts(call, name)
    if facts is None:
        return {}
    found: dict[str, ContextValue] = {"s3:ResourceAccount": facts.bucket.account_id}
    key = params.get("Key")
    if isinstance(key, str) and key and _reads_existing_tags(action):
        version = params.get("VersionId")
        row = call_object(call, name, key, version if isinstance(version, str) and version else None)
        if row is not None and not row.delete_marker:
            for tag, value in (row.tags or {}).items():
                found[f"s3:ExistingObjectTag/{tag}"] = value
    return found


def _reads_existing_tags(action: str) -> bool:
    """Actions on an existing object (not creating one): its tags are condition keys."""
    return action.lower() not in ("s3:putobject", "s3:createmultipartupload")


@on_gateway
def wire(gateway: Any) -> None:
    """Plug S3's resources and condition keys into the authorizer."""
    set_resource_resolver("s3", resource_facts)
    set_context_resolver("s3", condition_context)


def policy_document_text(document: Mapping[str, Any]) -> str:
    """The stored policy as GetBucketPolicy answers it (JSON text)."""
    return orjson.dumps(document).decode()
