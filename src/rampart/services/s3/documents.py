"""Bucket documents that do not decide access: tagging, CORS, lifecycle and logging.

Each is one stored document per bucket (``store.put_config``), checked
against S3's rules before it is stored; ExpectedBucketOwner is honoured by
``configs.require_bucket``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rampart.aws.errors import AwsError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3.errors import NoSuchTagSet
from rampart.services.s3.store import (
    Bucket,
    Conn,
    delete_config,
    get_bucket,
    get_config,
    put_config,
    require_bucket,
)

TAGGING_KIND, CORS_KIND, LIFECYCLE_KIND, LOGGING_KIND = "tagging", "cors", "lifecycle", "logging"
_CORS_METHODS = frozenset({"GET", "PUT", "HEAD", "POST", "DELETE"})


def _error(code: str, message: str, status: int = 400, **fields: Any) -> AwsError:
    return AwsError(message, code=code, status=status, fields=fields or None)


def _put_document(call: Call, params: Mapping[str, Any], kind: str, document: Any) -> dict[str, Any]:
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        if kind == LOGGING_KIND and document:
            _check_log_target(session, bucket, document)
        if document is None:
            delete_config(session, bucket.name, kind)
        else:
            put_config(session, bucket.name, kind, document)
    return {}


def _get_document(call: Call, params: Mapping[str, Any], kind: str, missing: AwsError | None) -> Any:
    with call.gateway.db.read() as conn:
        bucket = require_bucket(conn, params["Bucket"])
        found = get_config(conn, bucket.name, kind)
    if found is None and missing is not None:
        missing.fields.setdefault("BucketName", bucket.name)
        raise missing
    return found


def _delete_document(call: Call, params: Mapping[str, Any], kind: str) -> dict[str, Any]:
    with call.gateway.db.session() as session:
        bucket = require_bucket(session, params["Bucket"])
        delete_config(session, bucket.name, kind)
    return {}


def check_tag_set(tags: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    """A bucket tag set as S3 accepts it: at most 50, unique keys, no aws: prefix, AWS's lengths."""
    if len(tags) > 50:
        raise _error("InvalidTag", "Object tags cannot be greater than 50")
    seen: set[str] = set()
    for tag in tags:
        key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
        if key in seen:
            raise _error("InvalidTag", "Cannot provide multiple Tags with the same key", TagKey=key)
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise _error("InvalidTag", "The TagKey you have provided is invalid" if not 1 <= len(key) <= 128
                         else "The TagValue you have provided is invalid", TagKey=key)
        if key.lower().startswith("aws:"):
            raise _error("InvalidTag", "System tags cannot be added/updated by requester")
        seen.add(key)
    return [{"Key": str(t.get("Key", "")), "Value": str(t.get("Value", ""))} for t in tags]


@handler("s3", "PutBucketTagging")
def put_bucket_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the bucket's tag set."""
    tags = check_tag_set(list((params.get("Tagging") or {}).get("TagSet") or []))
    return _put_document(call, params, TAGGING_KIND, {"TagSet": tags})


@handler("s3", "GetBucketTagging")
def get_bucket_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The tag set, or NoSuchTagSet."""
    return _get_document(call, params, TAGGING_KIND, NoSuchTagSet("The TagSet does not exist"))


@handler("s3", "DeleteBucketTagging")
def delete_bucket_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove every tag."""
    return _delete_document(call, params, TAGGING_KIND)


def check_cors(config: Mapping[str, Any]) -> dict[str, Any]:
    """CORS rules as S3 accepts them: 1 to 100 rules, known methods, at most one * per origin."""
    rules = list(config.get("CORSRules") or [])
    if not 1 <= len(rules) <= 100:
        raise _error("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
    for rule in rules:
        for method in rule.get("AllowedMethods") or []:
            if method not in _CORS_METHODS:
                raise _error("InvalidRequest", f"Found unsupported HTTP method in CORS config. Unsupported method is {method}")
        for origin in rule.get("AllowedOrigins") or []:
            if str(origin).count("*") > 1:
                raise _error("InvalidRequest", f'AllowedOrigin "{origin}" can not have more than one wildcard.')
    return {"CORSRules": rules}


@handler("s3", "PutBucketCors")
def put_bucket_cors(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the CORS configuration."""
    return _put_document(call, params, CORS_KIND, check_cors(params.get("CORSConfiguration") or {}))


@handler("s3", "GetBucketCors")
def get_bucket_cors(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The CORS rules, or NoSuchCORSConfiguration."""
    return _get_document(call, params, CORS_KIND,
                         _error("NoSuchCORSConfiguration", "The CORS configuration does not exist", 404))


@handler("s3", "DeleteBucketCors")
def delete_bucket_cors(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the CORS configuration."""
    return _delete_document(call, params, CORS_KIND)


_RULE_ACTIONS = ("Expiration", "Transitions", "NoncurrentVersionExpiration", "NoncurrentVersionTransitions",
                 "AbortIncompleteMultipartUpload")


def check_lifecycle(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Lifecycle rules as S3 accepts them: unique IDs, an action each, positive day counts."""
    rules = list(config.get("Rules") or [])
    if not 1 <= len(rules) <= 1000:
        raise _error("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
    ids = [r.get("ID") for r in rules if r.get("ID")]
    if len(ids) != len(set(ids)):
        raise _error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule",
                     ArgumentName="ID", ArgumentValue=next(i for i in ids if ids.count(i) > 1))
    for rule in rules:
        if not any(rule.get(action) for action in _RULE_ACTIONS):
            raise _error("InvalidRequest", "At least one action needs to be specified in a rule")
        days = (rule.get("Expiration") or {}).get("Days")
        if days is not None and int(days) <= 0:
            raise _error("InvalidArgument", "'Days' for Expiration action must be a positive integer",
                         ArgumentName="Days", ArgumentValue=str(days))
    return rules


@handler("s3", "PutBucketLifecycleConfiguration")
def put_bucket_lifecycle(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the lifecycle rules."""
    rules = check_lifecycle(params.get("LifecycleConfiguration") or {})
    size = params.get("TransitionDefaultMinimumObjectSize") or "all_storage_classes_128K"
    _put_document(call, params, LIFECYCLE_KIND, {"Rules": rules, "TransitionDefaultMinimumObjectSize": size})
    return {"TransitionDefaultMinimumObjectSize": size}


@handler("s3", "GetBucketLifecycleConfiguration")
def get_bucket_lifecycle(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The lifecycle rules, or NoSuchLifecycleConfiguration."""
    return _get_document(call, params, LIFECYCLE_KIND,
                         _error("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", 404))


@handler("s3", "DeleteBucketLifecycle")
def delete_bucket_lifecycle(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the lifecycle rules."""
    return _delete_document(call, params, LIFECYCLE_KIND)


def _check_log_target(conn: Conn, bucket: Bucket, status: Mapping[str, Any]) -> None:
    target_name = str(status["LoggingEnabled"].get("TargetBucket") or "")
    target = get_bucket(conn, target_name)
    if target is None:
        raise _error("InvalidTargetBucketForLogging", "The target bucket for logging does not exist",
                     TargetBucket=target_name)
    if target.account_id != bucket.account_id:
        raise _error("InvalidTargetBucketForLogging",
                     "The owner for the bucket to be logged and the target bucket must be the same.",
                     TargetBucket=target_name)
    if target.region != bucket.region:
        raise _error("CrossLocationLoggingProhibitted",
                     "Cross S3 location logging not allowed. ", TargetBucketLocation=target.region)


@handler("s3", "PutBucketLogging")
def put_bucket_logging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Set (or, with an empty status, turn off) server access logging."""
    status = params.get("BucketLoggingStatus") or {}
    enabled = status.get("LoggingEnabled")
    return _put_document(call, params, LOGGING_KIND, {"LoggingEnabled": enabled} if enabled else None)


@handler("s3", "GetBucketLogging")
def get_bucket_logging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The logging status (empty when logging is off)."""
    return _get_document(call, params, LOGGING_KIND, None) or {}
