"""Service last accessed reports through a real boto3 client, fed by the real call journal."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.services.iam.last_accessed import allowed_actions, granted_namespaces
from tests.conftest import Server
from tests.services.iam.helpers import unique, user_with_keys

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    ],
}


def report(iam: Any, arn: str, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    """(job id, {namespace: ServiceLastAccessed})."""
    job_id = iam.generate_service_last_accessed_details(Arn=arn, **kwargs)["JobId"]
    details = iam.get_service_last_accessed_details(JobId=job_id, MaxItems=1000)
    assert details["JobStatus"] == "COMPLETED"
    return job_id, {s["ServiceNamespace"]: s for s in details["ServicesLastAccessed"]}


def test_document_scanning() -> None:
    doc = json.dumps(POLICY)
    assert granted_namespaces(doc) == {"iam", "s3"}
    assert allowed_actions(doc, "s3") == {"GetObject"}
    everything = json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    assert {"iam", "s3", "ec2", "kms"} <= granted_namespaces(everything)
    not_action = json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
    assert "iam" not in granted_namespaces(not_action) and "s3" in granted_namespaces(not_action)
    deny = json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    assert granted_namespaces(deny) == frozenset()


def test_user_report_counts_its_own_calls(iam: Any, server: Server) -> None:
    name, client = user_with_keys(server, policy=POLICY)
    user_arn = iam.get_user(UserName=name)["User"]["Arn"]
    client.get_user(UserName=name)
    client.list_groups()
    time.sleep(0.05)
    job_id, services = report(iam, user_arn)
    assert set(services) == {"iam", "s3"}
    assert services["iam"]["LastAuthenticatedEntity"] == user_arn
    assert services["iam"]["TotalAuthenticatedEntities"] == 1
    assert services["iam"]["LastAuthenticatedRegion"] == "us-east-1"
    assert services["s3"]["TotalAuthenticatedEntities"] == 0 and "LastAuthenticated" not in services["s3"]
    assert services["s3"]["ServiceName"] == "Amazon S3"

    entities = iam.get_service_last_accessed_details_with_entities(JobId=job_id, ServiceNamespace="iam")
    assert [e["EntityInfo"]["Arn"] for e in entities["EntityDetailsList"]] == [user_arn]
    assert entities["EntityDetailsList"][0]["EntityInfo"]["Type"] == "USER"
    assert "LastAuthenticated" in entities["EntityDetailsList"][0]

    _, detailed = report(iam, user_arn, Granularity="ACTION_LEVEL")
    tracked = {a["ActionName"]: a for a in detailed["iam"]["TrackedActionsLastAccessed"]}
    assert tracked["GetUser"]["LastAccessedEntity"] == user_arn and "LastAccessedTime" not in tracked["GetRole"]
    assert [a["ActionName"] for a in detailed["s3"]["TrackedActionsLastAccessed"]] == ["GetObject"]

    page = iam.get_service_last_accessed_details(JobId=job_id, MaxItems=1)
    assert page["IsTruncated"] and len(page["ServicesLastAccessed"]) == 1


def test_group_and_policy_reports(iam: Any, server: Server) -> None:
    group = unique("grp")
    iam.create_group(GroupName=group)
    policy_arn = iam.create_policy(PolicyName=unique("pol"), PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=group, PolicyArn=policy_arn)
    name, client = user_with_keys(server)
    iam.add_user_to_group(GroupName=group, UserName=name)
    idle = unique("idle")
    iam.create_user(UserName=idle)
    iam.add_user_to_group(GroupName=group, UserName=idle)
    client.list_users()
    time.sleep(0.05)
    group_arn = iam.get_group(GroupName=group)["Group"]["Arn"]
    for arn in (group_arn, policy_arn):
        job_id, services = report(iam, arn)
        assert set(services) == {"iam", "s3"}
        assert services["iam"]["TotalAuthenticatedEntities"] == 1
        listed = iam.get_service_last_accessed_details_with_entities(JobId=job_id, ServiceNamespace="iam")
        names = [e["EntityInfo"]["Name"] for e in listed["EntityDetailsList"]]
        assert names == [name, idle] and "LastAuthenticated" not in listed["EntityDetailsList"][1]


def test_errors(iam: Any, server: Server) -> None:
    with pytest.raises(ClientError) as excinfo:
        iam.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{server.account_id}:user/ghost-{unique('x')}")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as excinfo:
        iam.generate_service_last_accessed_details(Arn="not-an-arn-at-all-really")
    assert excinfo.value.response["Error"]["Code"] == "InvalidInput"
    with pytest.raises(ClientError) as excinfo:
        iam.get_service_last_accessed_details(JobId="00000000-0000-0000-0000-000000000000")
    assert excinfo.value.response["Error"]["Code"] == "NoSuchEntity"
    _, services = report(iam, "arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert {"s3", "ec2", "iam"} <= set(services)
