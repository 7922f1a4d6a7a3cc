"""The trail operations: create, change, delete, describe, logging on/off, status, selectors, tags.

A trail belongs to its account and home region: changes are accepted only
there (InvalidHomeRegionException elsewhere), and organization trails only
from the organization's management account. Before a bucket or key is
accepted, the policy engine is asked whether cloudtrail.amazonaws.com, acting
for this trail, could write the logs (bucket policy) and make data keys (key
policy), as AWS checks at CreateTrail / UpdateTrail.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

import orjson
from sqlalchemy import delete, insert, update

from rampart.aws.models import service_model
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.gateway.service_calls import ServicePrincipalRef, service_allowed
from rampart.services.cloudtrail import selectors as sel
from rampart.services.cloudtrail import tokens
from rampart.services.cloudtrail import trails as tr
from rampart.services.cloudtrail.errors import (
    CloudTrailAccessNotEnabledException,
    CloudTrailARNInvalidException,
    InsightNotEnabledException,
    InsufficientEncryptionPolicyException,
    InsufficientS3BucketPolicyException,
    InvalidHomeRegionException,
    InvalidKmsKeyIdException,
    InvalidParameterCombinationException,
    InvalidS3PrefixException,
    InvalidTagParameterException,
    InvalidTokenException,
    KmsKeyNotFoundException,
    MaximumNumberOfTrailsExceededException,
    NotOrganizationMasterAccountException,
    OrganizationNotInAllFeaturesModeException,
    OrganizationsNotInUseException,
    ResourceNotFoundException,
    S3BucketDoesNotExistException,
    TagsLimitExceededException,
    TrailAlreadyExistsException,
    TrailNotFoundException,
)
from rampart.services.cloudtrail.tables_trails import ct_trails

CLOUDTRAIL = "cloudtrail.amazonaws.com"
MAX_TRAILS_PER_REGION = 5
MAX_TAGS = 50
# AWS documents no page size for ListTrails; a page as large as LookupEvents' keeps every real listing on one page.
LIST_TRAILS_PAGE_SIZE = 50
LIST_TRAILS_PAGE_SIZE_VARIABLE = "RAMPART_CLOUDTRAIL_LIST_TRAILS_PAGE_SIZE"


def _account(call: Call) -> str:
    return call.account_id or ""


def _principal(trail_arn: str, account: str) -> ServicePrincipalRef:
    return ServicePrincipalRef(CLOUDTRAIL, source_arn=trail_arn, source_account=account)


# ---- checks on what a trail points at ---------------------------------------------------------------


def _check_bucket(call: Call, bucket: str, prefix: str | None, trail_arn: str) -> None:
    """The bucket exists, and its policy lets CloudTrail check the ACL and write under AWSLogs/<account>/."""
    from rampart.services.s3.store import get_bucket

    with call.gateway.db.read() as conn:
        found = get_bucket(conn, bucket)
    if found is None:
        raise S3BucketDoesNotExistException(f"S3 bucket {bucket} does not exist.")
    account = _account(call)
    key = f"{prefix + '/' if prefix else ''}AWSLogs/{account}/CloudTrail/{call.region}/check.json.gz"
    principal = _principal(trail_arn, account)
    put = {"Bucket": bucket, "Key": key, "ACL": "bucket-owner-full-control"}
    if not (service_allowed(call.gateway, principal, "s3", "GetBucketAcl", {"Bucket": bucket}, "s3:GetBucketAcl",
                            found.arn, region=found.region, account_id=account)
            and service_allowed(call.gateway, principal, "s3", "PutObject", put, "s3:PutObject",
                                f"{found.arn}/{key}", region=found.region, account_id=account)):
        raise InsufficientS3BucketPolicyException(f"Incorrect S3 bucket policy is detected for bucket: {bucket}")


def _check_prefix(prefix: str | None) -> None:
    if prefix is not None and (len(prefix) > 200 or prefix.startswith("/") or "//" in prefix):
        raise InvalidS3PrefixException(f"Invalid S3 prefix: {prefix}")


def _resolve_key(call: Call, value: str, trail_arn: str, bucket: str) -> str:
    """The full ARN of the KMS key KmsKeyId names, after checking its policy lets CloudTrail make data keys
    (AWS's refusal names the trail's bucket too)."""
    from rampart.services.kms.errors import NotFoundException
    from rampart.services.kms.keys import key_arn, lookup, parse_ref

    try:
        ref = parse_ref(call, value)
    except NotFoundException as bad:
        raise InvalidKmsKeyIdException(f"Invalid KmsKeyId: {value}") from bad
    with call.gateway.db.read() as conn:
        key = lookup(conn, ref, call.received_at)
    if key is None or key.state != "Enabled" or key.key_usage != "ENCRYPT_DECRYPT" \
            or key.key_spec != "SYMMETRIC_DEFAULT":
        raise KmsKeyNotFoundException(f"KMS key not found or not usable: {value}")
    arn = key_arn(key.region, key.account_id, key.key_id)
    params = {"KeyId": arn, "EncryptionContext": {"aws:cloudtrail:arn": trail_arn}}
    if not service_allowed(call.gateway, _principal(trail_arn, _account(call)), "kms", "GenerateDataKey", params,
                           "kms:GenerateDataKey", arn, region=key.region, account_id=_account(call)):
        raise InsufficientEncryptionPolicyException(
            f"Insufficient permissions to access S3 bucket {bucket} or KMS key {arn}.")
    return arn


def _check_organization(call: Call) -> None:
    """Organization trails: only from the management account of an all-features organization that trusts CloudTrail."""
    from rampart.services.organizations import settings
    from rampart.services.organizations.store import org_of_account

    with call.gateway.db.read() as conn:
        org = org_of_account(conn, _account(call))
        trusted = org is not None and CLOUDTRAIL in settings.read(conn, org.org_id).services
    if org is None:
        raise OrganizationsNotInUseException("This account is not a member of an organization.")
    if org.management_account_id != _account(call):
        raise NotOrganizationMasterAccountException(
            "The request must be made from the management account of the organization.")
    if org.feature_set != "ALL":
        raise OrganizationNotInAllFeaturesModeException(
            "This operation requires that all features are enabled in the organization.")
    if not trusted:
        raise CloudTrailAccessNotEnabledException(
            "You must enable trusted access for CloudTrail in AWS Organizations before you can create an "
            "organization trail.")


def _check_combination(multi_region: bool, include_global: bool) -> None:
    if multi_region and not include_global:
        raise InvalidParameterCombinationException("Multi-Region trail must include global service events.")


# ---- output ---------------------------------------------------------------------------------------


def trail_output(trail: tr.Trail) -> dict[str, Any]:
    """A trail as the Trail shape (GetTrail, DescribeTrails)."""
    out: dict[str, Any] = {
        "Name": trail.name, "S3BucketName": trail.bucket, "IncludeGlobalServiceEvents": trail.include_global,
        "IsMultiRegionTrail": trail.multi_region, "HomeRegion": trail.home_region, "TrailARN": trail.arn,
        "LogFileValidationEnabled": trail.validation, "HasCustomEventSelectors": sel.has_custom(trail.selectors),
        "HasInsightSelectors": bool(trail.insight_types), "IsOrganizationTrail": trail.organization,
    }
    optional = {"S3KeyPrefix": trail.prefix, "KmsKeyId": trail.kms_key_id,
                "CloudWatchLogsLogGroupArn": trail.cw_log_group, "CloudWatchLogsRoleArn": trail.cw_role}
    if trail.sns_topic:
        optional["SnsTopicName"] = trail.sns_topic
        optional["SnsTopicARN"] = f"arn:aws:sns:{trail.home_region}:{trail.account_id}:{trail.sns_topic}"
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _write_output(trail: tr.Trail) -> dict[str, Any]:
    """CreateTrail / UpdateTrail's answer: the Trail shape's members those outputs have."""
    out = trail_output(trail)
    for member in ("HomeRegion", "HasCustomEventSelectors", "HasInsightSelectors"):
        out.pop(member, None)
    return out


# ---- create / update / delete ------------------------------------------------------------------------


def _values(call: Call, params: dict[str, Any], trail_arn: str, base: tr.Trail | None) -> dict[str, Any]:
    """The row values a CreateTrail / UpdateTrail asks for, checked (members absent keep their old value)."""
    def pick(member: str, old: Any, default: Any = None) -> Any:
        return params.get(member, old if base is not None else default)

    b = base
    bucket = pick("S3BucketName", b and b.bucket)
    prefix = pick("S3KeyPrefix", b and b.prefix) or None
    multi = bool(pick("IsMultiRegionTrail", b and b.multi_region, False))
    include_global = bool(pick("IncludeGlobalServiceEvents", b.include_global if b else True, True))
    organization = bool(pick("IsOrganizationTrail", b and b.organization, False))
    _check_combination(multi, include_global)
    _check_prefix(prefix)
    if base is None or "S3BucketName" in params or "S3KeyPrefix" in params:
        _check_bucket(call, bucket, prefix, trail_arn)
    if organization and (base is None or not base.organization):
        _check_organization(call)
    kms = b.kms_key_id if b else None
    if "KmsKeyId" in params:
        kms = _resolve_key(call, params["KmsKeyId"], trail_arn, bucket) if params["KmsKeyId"] else None
    return {"bucket": bucket, "prefix": prefix, "sns_topic": pick("SnsTopicName", b and b.sns_topic) or None,
            "include_global": include_global, "multi_region": multi, "organization": organization,
            "kms_key_id": kms, "validation": bool(pick("EnableLogFileValidation", b and b.validation, False)),
            "cw_log_group": pick("CloudWatchLogsLogGroupArn", b and b.cw_log_group) or None,
            "cw_role": pick("CloudWatchLogsRoleArn", b and b.cw_role) or None}


def _check_room(conn: Any, account: str, region: str, name: str, multi: bool, exclude: str | None = None) -> None:
    """Names are unique per region (a multi-region trail's name in every region); five trails per region."""
    own = [t for t in tr.visible(conn, account, region) if t.account_id == account and t.arn != exclude]
    everywhere = [t for t in _own_trails(conn, account) if t.arn != exclude]
    clash = own if not multi else everywhere
    if any(t.name == name for t in clash) or any(t.name == name and t.multi_region for t in everywhere):
        raise TrailAlreadyExistsException(f"Trail {name} already exists for customer: {account}")
    if exclude is None and len(own) >= MAX_TRAILS_PER_REGION:
        raise MaximumNumberOfTrailsExceededException(
            f"User: {account} already has {MAX_TRAILS_PER_REGION} trails in {region}.")


def _own_trails(conn: Any, account: str) -> list[tr.Trail]:
    from sqlalchemy import select

    return [tr.trail_of(row) for row in conn.execute(select(ct_trails).where(ct_trails.c.account_id == account))]


def _check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if not key or len(key) > 128 or key.lower().startswith("aws:") or len(value) > 256:
            raise InvalidTagParameterException(f"Invalid tag: key {key!r}.")
    if len(tags) > MAX_TAGS:
        raise TagsLimitExceededException(f"The number of tags exceeds the limit of {MAX_TAGS}.")


def _tag_dict(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(item["Key"]): str(item.get("Value") or "") for item in items or []}


@handler("cloudtrail", "CreateTrail")
def create_trail(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new trail in the caller's region, not logging until StartLogging."""
    name, account = params["Name"], _account(call)
    tr.check_name(name)
    arn = tr.trail_arn(call.region, account, name)
    tags = _tag_dict(params.get("TagsList"))
    _check_tags(tags)
    with call.gateway.db.read() as conn:
        _check_room(conn, account, call.region, name, bool(params.get("IsMultiRegionTrail")))
    values = _values(call, params, arn, None)
    with call.gateway.db.session() as session:
        _check_room(session, account, call.region, name, values["multi_region"])
        session.execute(insert(ct_trails).values(
            arn=arn, account_id=account, home_region=call.region, name=name, logging=False,
            logging_started_at=None, created_at=call.received_at, selectors=None, insights="[]",
            tags=orjson.dumps(tags).decode(), status="{}", **values))
        trail = tr.get_trail(session, arn)
    if trail is None:  # cannot happen inside the transaction that inserted it
        raise TrailNotFoundException(f"Unknown trail: {name} for the user: {account}")
    return _write_output(trail)


def _owned(call: Call, conn: Any, name_or_arn: str) -> tr.Trail:
    """A trail the caller may change: its own, asked from the home region."""
    trail = tr.find(conn, _account(call), call.region, name_or_arn)
    if trail.account_id != _account(call):
        raise NotOrganizationMasterAccountException(
            "The organization trail can be changed only from the organization's management account.")
    if trail.home_region != call.region:
        raise InvalidHomeRegionException(
            f"This operation must be called from the trail's home region: {trail.home_region}.")
    return trail


@handler("cloudtrail", "UpdateTrail")
def update_trail(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Change a trail's settings; members not given keep their values."""
    with call.gateway.db.read() as conn:
        trail = _owned(call, conn, params["Name"])
        if params.get("IsMultiRegionTrail") and not trail.multi_region:
            _check_room(conn, trail.account_id, call.region, trail.name, True, exclude=trail.arn)
    values = _values(call, params, trail.arn, trail)
    with call.gateway.db.session() as session:
        session.execute(update(ct_trails).where(ct_trails.c.arn == trail.arn).values(**values))
        changed = tr.get_trail(session, trail.arn)
    if changed is None:
        raise TrailNotFoundException(f"Unknown trail: {params['Name']} for the user: {_account(call)}")
    return _write_output(changed)


@handler("cloudtrail", "DeleteTrail")
def delete_trail(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove a trail (its delivered files stay in the bucket)."""
    with call.gateway.db.session() as session:
        trail = _owned(call, session, params["Name"])
        session.execute(delete(ct_trails).where(ct_trails.c.arn == trail.arn))
    return {}


# ---- reading -----------------------------------------------------------------------------------------


@handler("cloudtrail", "GetTrail")
def get_trail(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One visible trail (own, shadow or organization trail)."""
    with call.gateway.db.read() as conn:
        trail = tr.find(conn, _account(call), call.region, params["Name"])
    return {"Trail": trail_output(trail)}


def _is_shadow(trail: tr.Trail, call: Call) -> bool:
    return trail.home_region != call.region or trail.account_id != _account(call)


@handler("cloudtrail", "DescribeTrails")
def describe_trails(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The visible trails, or those named (unknown names are left out, as AWS does)."""
    shadows = params.get("includeShadowTrails", True)
    with call.gateway.db.read() as conn:
        found = tr.visible(conn, _account(call), call.region)
        names = params.get("trailNameList")
        if names:
            found = [t for t in found if t.name in names or t.arn in names]
    return {"trailList": [trail_output(t) for t in found if shadows or not _is_shadow(t, call)]}


def list_trails_page_size() -> int:
    """Trails per ListTrails page: LIST_TRAILS_PAGE_SIZE, or RAMPART_CLOUDTRAIL_LIST_TRAILS_PAGE_SIZE (tests make
    pages small, as a region shows at most five trails of the account's own)."""
    value = os.environ.get(LIST_TRAILS_PAGE_SIZE_VARIABLE, "")
    return max(1, int(value)) if value.isdigit() else LIST_TRAILS_PAGE_SIZE


@handler("cloudtrail", "ListTrails")
def list_trails(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """ARN, name and home region of every visible trail, by ARN, a page at a time; the NextToken holds the last
    ARN handed out (trails made or deleted meanwhile do not shift the pages) and is bound to account and region."""
    scope = ["ListTrails", _account(call), call.region]
    after = ""
    if params.get("NextToken"):
        found = tokens.unseal(scope, params["NextToken"])
        if found is None or len(found) != 1 or not isinstance(found[0], str):
            raise InvalidTokenException("Invalid NextToken.")
        after = found[0]
    with call.gateway.db.read() as conn:
        ordered = sorted((t for t in tr.visible(conn, _account(call), call.region) if t.arn > after),
                         key=lambda t: t.arn)
    size = list_trails_page_size()
    out: dict[str, Any] = {"Trails": [{"TrailARN": t.arn, "Name": t.name, "HomeRegion": t.home_region}
                                      for t in ordered[:size]]}
    if len(ordered) > size:
        out["NextToken"] = tokens.seal(scope, [ordered[size - 1].arn])
    return out


def _aws_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@handler("cloudtrail", "StartLogging")
def start_logging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Turn logging on: events from now on are delivered (never those before)."""
    with call.gateway.db.session() as session:
        trail = _owned(call, session, params["Name"])
        if not trail.logging:
            now = call.received_at
            session.execute(update(ct_trails).where(ct_trails.c.arn == trail.arn).values(
                logging=True, logging_started_at=now))
            tr.note_status(session, trail.arn, StartLoggingTime=now, TimeLoggingStarted=_aws_time(now))
    return {}


@handler("cloudtrail", "StopLogging")
def stop_logging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Turn logging off; events recorded while it was on are still delivered."""
    with call.gateway.db.session() as session:
        trail = _owned(call, session, params["Name"])
        if trail.logging:
            now = call.received_at
            session.execute(update(ct_trails).where(ct_trails.c.arn == trail.arn).values(logging=False))
            tr.note_status(session, trail.arn, StopLoggingTime=now, TimeLoggingStopped=_aws_time(now))
    return {}


def _status_output(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored status strings as GetTrailStatus' members: timestamps parsed, other times in AWS's text form."""
    shape = service_model("cloudtrail").operation_model("GetTrailStatus").output_shape
    out: dict[str, Any] = {}
    for name, value in stored.items():
        member = shape.members.get(name)
        if member is None:
            continue
        if member.type_name == "timestamp":
            out[name] = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        elif member.type_name == "string" and isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT.*[+]", value):
            out[name] = _aws_time(dt.datetime.fromisoformat(value))
        elif member.type_name == "boolean":
            out[name] = value if isinstance(value, bool) else str(value).lower() == "true"
        else:
            out[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


@handler("cloudtrail", "GetTrailStatus")
def get_trail_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Whether the trail logs, and what its deliveries and digests last did."""
    with call.gateway.db.read() as conn:
        trail = tr.find(conn, _account(call), call.region, params["Name"])
        stored = tr.status_of(conn, trail.arn)
    return {"IsLogging": trail.logging, **_status_output(stored)}


# ---- selectors ---------------------------------------------------------------------------------------


@handler("cloudtrail", "PutEventSelectors")
def put_event_selectors(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the trail's selectors with basic or advanced ones (never both)."""
    kind = sel.choose_kind(params)
    given = params[kind]
    chosen = sel.validate_basic(given) if kind == "EventSelectors" else sel.validate_advanced(given)
    with call.gateway.db.session() as session:
        trail = _owned(call, session, params["TrailName"])
        session.execute(update(ct_trails).where(ct_trails.c.arn == trail.arn).values(
            selectors=orjson.dumps({kind: chosen}).decode()))
    return {"TrailARN": trail.arn, kind: chosen}


@handler("cloudtrail", "GetEventSelectors")
def get_event_selectors(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The trail's selectors (the default basic selector when none were put)."""
    with call.gateway.db.read() as conn:
        trail = tr.find(conn, _account(call), call.region, params["TrailName"])
    stored = trail.selectors or {"EventSelectors": sel.DEFAULT_SELECTORS}
    return {"TrailARN": trail.arn, **stored}


@handler("cloudtrail", "PutInsightSelectors")
def put_insight_selectors(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Turn Insights types on (an empty list turns Insights off)."""
    if params.get("EventDataStore") or not params.get("TrailName"):
        raise InvalidParameterCombinationException("Specify TrailName; event data stores are not supported.")
    chosen = sel.validate_insights(params.get("InsightSelectors") or [])
    with call.gateway.db.session() as session:
        trail = _owned(call, session, params["TrailName"])
        session.execute(update(ct_trails).where(ct_trails.c.arn == trail.arn).values(
            insights=orjson.dumps(chosen).decode()))
    return {"TrailARN": trail.arn, "InsightSelectors": chosen}


@handler("cloudtrail", "GetInsightSelectors")
def get_insight_selectors(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The trail's Insights types; InsightNotEnabledException when it has none."""
    if params.get("EventDataStore") or not params.get("TrailName"):
        raise InvalidParameterCombinationException("Specify TrailName; event data stores are not supported.")
    with call.gateway.db.read() as conn:
        trail = tr.find(conn, _account(call), call.region, params["TrailName"])
    if not trail.insight_types:
        raise InsightNotEnabledException(f"Trail {trail.arn} does not have Insights enabled.")
    return {"TrailARN": trail.arn, "InsightSelectors": [{"InsightType": kind} for kind in trail.insight_types]}


# ---- tags --------------------------------------------------------------------------------------------


def _tagged(call: Call, conn: Any, resource_id: str) -> tr.Trail:
    """The trail a ResourceId (trail ARN) names; ResourceNotFoundException when none."""
    try:
        return tr.find(conn, _account(call), call.region, resource_id)
    except TrailNotFoundException as missing:
        raise ResourceNotFoundException(f"Resource not found: {resource_id}") from missing


def _write_tags(call: Call, resource_id: str, add: dict[str, str], remove: dict[str, str]) -> None:
    with call.gateway.db.session() as session:
        trail = _owned(call, session, _tagged(call, session, resource_id).arn)
        tags = {k: v for k, v in trail.tags.items() if k not in remove or remove[k] not in ("", v)}
        tags.update(add)
        _check_tags(tags)
        session.execute(update(ct_trails).where(ct_trails.c.arn == trail.arn).values(
            tags=orjson.dumps(tags).decode()))


@handler("cloudtrail", "AddTags")
def add_tags(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Add or overwrite tags on a trail."""
    _write_tags(call, params["ResourceId"], _tag_dict(params.get("TagsList")), {})
    return {}


@handler("cloudtrail", "RemoveTags")
def remove_tags(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove tags by key (a Value given must match the stored one)."""
    _write_tags(call, params["ResourceId"], {}, _tag_dict(params.get("TagsList")))
    return {}


@handler("cloudtrail", "ListTags")
def list_tags(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Tags of each named trail; not of the organization trail from a member account (AWS answers
    CloudTrailARNInvalidException there, as for any other account's ARN).

    One page always: AWS documents ListTags' NextToken as "Reserved for future use" (at most 20 ARNs are
    asked at once), so no token is ever handed out and any token given is refused, as ListPublicKeys does."""
    if params.get("NextToken"):
        raise InvalidTokenException("Reserved for future use.")
    out = []
    with call.gateway.db.read() as conn:
        for resource_id in params["ResourceIdList"]:
            trail = _tagged(call, conn, resource_id)
            if trail.account_id != _account(call):  # an organization trail seen from a member account
                raise CloudTrailARNInvalidException(tr.wrong_account_message(_account(call)))
            out.append({"ResourceId": trail.arn,
                        "TagsList": [{"Key": k, "Value": v} for k, v in trail.tags.items()]})
    return {"ResourceTagList": out}
