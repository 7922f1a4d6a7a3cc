"""The ``resources`` of a CloudTrail event, and the resource pairs LookupEvents searches by.

AWS writes ``resources`` for S3 (object and bucket; trails' data selectors
match on them), KMS (the key) and STS's assume calls (the role). LookupEvents
also finds IAM and CloudTrail events by the entity they name, although their
records carry no ``resources``; those pairs come from the parameters
(``lookup_pairs``) and never appear in the record.
"""

from __future__ import annotations

import re
from typing import Any

from rampart.events.records import CallRecord

_KMS_KEY_ID = re.compile(r"(mrk-)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|mrk-[0-9a-f]{32}")
_STS_ROLE_CALLS = frozenset({"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
_IAM_NAMES = (("UserName", "user", "AWS::IAM::User"), ("RoleName", "role", "AWS::IAM::Role"),
              ("GroupName", "group", "AWS::IAM::Group"))


def resources_of(record: CallRecord, recipient: str) -> list[dict[str, str]]:
    """The record's ``resources`` list (empty where AWS writes none)."""
    params = record.request_parameters or {}
    if record.service == "s3":
        return _s3(params, record.resource_account or recipient)
    if record.service == "kms":
        arn = _kms_key_arn(params, record.response_elements or {}, record.region, recipient)
        return [{"accountId": arn.split(":")[4], "type": "AWS::KMS::Key", "ARN": arn}] if arn else []
    if record.service == "sts" and record.operation in _STS_ROLE_CALLS:
        role = str(params.get("RoleArn") or "")
        parts = role.split(":")
        return [{"ARN": role, "accountId": parts[4], "type": "AWS::IAM::Role"}] if len(parts) >= 6 else []
    return []


def lookup_pairs(record: CallRecord, recipient: str, resources: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    """(ResourceType, ResourceName) pairs for LookupEvents: the record's resources and the IAM / trail it names."""
    pairs = [(entry["type"], entry["ARN"]) for entry in resources]
    params = record.request_parameters or {}
    if record.service == "iam":
        for member, path, kind in _IAM_NAMES:
            name = params.get(member)
            if isinstance(name, str) and name:
                pairs.append((kind, f"arn:aws:iam::{recipient}:{path}/{name}"))
        policy = params.get("PolicyArn")
        if isinstance(policy, str) and policy:
            pairs.append(("AWS::IAM::Policy", policy))
    elif record.service == "cloudtrail":
        trail = (record.response_elements or {}).get("TrailARN") or params.get("Name") or params.get("TrailName")
        if isinstance(trail, str) and trail:
            arn = trail if trail.startswith("arn:") else f"arn:aws:cloudtrail:{record.region}:{recipient}:trail/{trail}"
            pairs.append(("AWS::CloudTrail::Trail", arn))
    return tuple(pairs)


def _s3(params: dict[str, Any], owner: str) -> list[dict[str, str]]:
    bucket = params.get("Bucket")
    if not isinstance(bucket, str) or not bucket:
        return []
    found: list[dict[str, str]] = []
    key = params.get("Key")
    if isinstance(key, str) and key:
        found.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"})
    source = params.get("CopySource")
    if isinstance(source, str) and source:
        found.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{source.lstrip('/').split('?')[0]}"})
    found.append({"accountId": owner, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"})
    return found


def _kms_key_arn(params: dict[str, Any], output: dict[str, Any], region: str, account: str) -> str | None:
    """The key's ARN: from the answer when it names one (Encrypt, Decrypt, CreateKey), else from KeyId."""
    metadata = output.get("KeyMetadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("Arn"), str):
        return metadata["Arn"]
    for value in (output.get("KeyId"), params.get("KeyId"), params.get("DestinationKeyId")):
        if not isinstance(value, str) or not value:
            continue
        if value.startswith("arn:") and ":key/" in value:
            return value
        if _KMS_KEY_ID.fullmatch(value):
            return f"arn:aws:kms:{region}:{account}:key/{value}"
    return None
