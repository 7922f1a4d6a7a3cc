"""Trails through boto3 (and the AWS CLI once): lifecycle, AWS's errors, selectors, tags, authorization."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.cloudtrail.support import trail_bucket


class Tenant:
    """A fresh account with root clients (trail limits are per account, so each test gets its own)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.account_id, self.creds = server.new_account("ct-trails")

    def client(self, service: str, region: str = "us-east-1", **extra: Any) -> Any:
        return self.server.client(service, region_name=region, **{**self.creds, **extra})

    def bucket(self, prefix: str | None = None, trail_name: str | None = None) -> str:
        return trail_bucket(self.client("s3"), self.account_id, f"ct-{secrets.token_hex(6)}", prefix, trail_name)


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant(server)


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_lifecycle(tenant: Tenant) -> None:
    ct, bucket = tenant.client("cloudtrail"), tenant.bucket(prefix="p")
    made = ct.create_trail(Name="main", S3BucketName=bucket, S3KeyPrefix="p", EnableLogFileValidation=True,
                           TagsList=[{"Key": "team", "Value": "sec"}])
    arn = f"arn:aws:cloudtrail:us-east-1:{tenant.account_id}:trail/main"
    assert made["TrailARN"] == arn and made["LogFileValidationEnabled"] and made["S3KeyPrefix"] == "p"
    got = ct.get_trail(Name=arn)["Trail"]
    assert got["HomeRegion"] == "us-east-1" and got["IncludeGlobalServiceEvents"] and not got["IsMultiRegionTrail"]
    assert not got["HasCustomEventSelectors"]
    assert [t["Name"] for t in ct.describe_trails()["trailList"]] == ["main"]
    assert ct.list_trails()["Trails"] == [{"TrailARN": arn, "Name": "main", "HomeRegion": "us-east-1"}]
    assert ct.get_trail_status(Name="main")["IsLogging"] is False
    ct.start_logging(Name="main")
    status = ct.get_trail_status(Name="main")
    assert status["IsLogging"] and "StartLoggingTime" in status and status["TimeLoggingStarted"].endswith("Z")
    ct.stop_logging(Name=arn)
    assert "StopLoggingTime" in ct.get_trail_status(Name="main")
    updated = ct.update_trail(Name="main", EnableLogFileValidation=False, SnsTopicName="topic")
    assert not updated["LogFileValidationEnabled"] and updated["SnsTopicName"] == "topic"
    assert updated["S3KeyPrefix"] == "p"
    assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"] == [
        {"ResourceId": arn, "TagsList": [{"Key": "team", "Value": "sec"}]}]
    ct.add_tags(ResourceId=arn, TagsList=[{"Key": "env", "Value": "prod"}])
    ct.remove_tags(ResourceId=arn, TagsList=[{"Key": "team"}])
    assert ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"] == [{"Key": "env", "Value": "prod"}]
    ct.delete_trail(Name="main")
    with pytest.raises(ClientError) as missing:
        ct.get_trail(Name="main")
    assert code(missing) == "TrailNotFoundException"
    assert missing.value.response["Error"]["Message"] == (
        f"Unknown trail: arn:aws:cloudtrail:us-east-1:{tenant.account_id}:trail/main for the user: {tenant.account_id}")


@pytest.mark.parametrize("name", ["ab", "-abc", "abc-", "a--b", "a._b", "a b c", "192.168.5.4", "x" * 129])
def test_invalid_names(tenant: Tenant, name: str) -> None:
    with pytest.raises(ClientError) as bad:
        tenant.client("cloudtrail").create_trail(Name=name, S3BucketName="whatever")
    assert code(bad) in ("InvalidTrailNameException", "ValidationException")


def test_create_errors(tenant: Tenant, server: Server) -> None:
    ct, bucket = tenant.client("cloudtrail"), tenant.bucket()
    with pytest.raises(ClientError) as nobucket:
        ct.create_trail(Name="trail1", S3BucketName=f"missing-{secrets.token_hex(4)}")
    assert code(nobucket) == "S3BucketDoesNotExistException"
    bare = f"ct-bare-{secrets.token_hex(4)}"
    tenant.client("s3").create_bucket(Bucket=bare)
    with pytest.raises(ClientError) as nopolicy:
        ct.create_trail(Name="trail1", S3BucketName=bare)
    assert code(nopolicy) == "InsufficientS3BucketPolicyException"
    assert nopolicy.value.response["Error"]["Message"] == f"Incorrect S3 bucket policy is detected for bucket: {bare}"
    with pytest.raises(ClientError) as wrongprefix:
        ct.create_trail(Name="trail1", S3BucketName=bucket, S3KeyPrefix="elsewhere")
    assert code(wrongprefix) == "InsufficientS3BucketPolicyException"
    with pytest.raises(ClientError) as combo:
        ct.create_trail(Name="trail1", S3BucketName=bucket, IsMultiRegionTrail=True, IncludeGlobalServiceEvents=False)
    assert code(combo) == "InvalidParameterCombinationException"
    for i in range(5):
        ct.create_trail(Name=f"trail{i}", S3BucketName=bucket)
    with pytest.raises(ClientError) as exists:
        ct.create_trail(Name="trail0", S3BucketName=bucket)
    assert code(exists) == "TrailAlreadyExistsException"
    with pytest.raises(ClientError) as full:
        ct.create_trail(Name="trail5", S3BucketName=bucket)
    assert code(full) == "MaximumNumberOfTrailsExceededException"
    other = server.client("cloudtrail")
    with pytest.raises(ClientError) as foreign:
        other.get_trail(Name=f"arn:aws:cloudtrail:us-east-1:{tenant.account_id}:trail/trail0")
    assert code(foreign) == "CloudTrailARNInvalidException"


def test_multi_region_shadow_trails(tenant: Tenant) -> None:
    ct, bucket = tenant.client("cloudtrail"), tenant.bucket()
    ct.create_trail(Name="everywhere", S3BucketName=bucket, IsMultiRegionTrail=True)
    ct.create_trail(Name="local", S3BucketName=bucket)
    west = tenant.client("cloudtrail", region="eu-west-1")
    listed = west.describe_trails()["trailList"]
    assert [(t["Name"], t["HomeRegion"]) for t in listed] == [("everywhere", "us-east-1")]
    assert west.describe_trails(includeShadowTrails=False)["trailList"] == []
    assert west.get_trail(Name="everywhere")["Trail"]["IsMultiRegionTrail"]
    with pytest.raises(ClientError) as home:
        west.update_trail(Name="everywhere", EnableLogFileValidation=True)
    assert code(home) == "InvalidHomeRegionException"
    with pytest.raises(ClientError) as clash:
        west.create_trail(Name="everywhere", S3BucketName=bucket)
    assert code(clash) == "TrailAlreadyExistsException"


def test_event_selectors(tenant: Tenant) -> None:
    ct = tenant.client("cloudtrail")
    ct.create_trail(Name="sel", S3BucketName=tenant.bucket())
    default = ct.get_event_selectors(TrailName="sel")
    assert default["EventSelectors"] == [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                          "DataResources": [], "ExcludeManagementEventSources": []}]
    basic = [{"ReadWriteType": "WriteOnly", "DataResources": [{"Type": "AWS::S3::Object",
                                                               "Values": ["arn:aws:s3:::mybucket/"]}]}]
    put = ct.put_event_selectors(TrailName="sel", EventSelectors=basic)
    assert put["EventSelectors"][0]["DataResources"] == basic[0]["DataResources"]
    assert ct.get_trail(Name="sel")["Trail"]["HasCustomEventSelectors"]
    advanced = [{"Name": "s3 writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "readOnly", "Equals": ["false"]}]}]
    ct.put_event_selectors(TrailName="sel", AdvancedEventSelectors=advanced)
    got = ct.get_event_selectors(TrailName="sel")
    assert got["AdvancedEventSelectors"] == advanced and "EventSelectors" not in got
    with pytest.raises(ClientError) as both:
        ct.put_event_selectors(TrailName="sel", EventSelectors=basic, AdvancedEventSelectors=advanced)
    assert code(both) == "InvalidParameterCombinationException"
    with pytest.raises(ClientError) as bad:
        ct.put_event_selectors(TrailName="sel", EventSelectors=[
            {"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::nobucketslash"]}]}])
    assert code(bad) == "InvalidEventSelectorsException"
    with pytest.raises(ClientError) as notrail:
        ct.get_event_selectors(TrailName="nothere")
    assert code(notrail) == "TrailNotFoundException"


def test_insight_selectors(tenant: Tenant) -> None:
    ct = tenant.client("cloudtrail")
    ct.create_trail(Name="ins", S3BucketName=tenant.bucket())
    with pytest.raises(ClientError) as off:
        ct.get_insight_selectors(TrailName="ins")
    assert code(off) == "InsightNotEnabledException"
    chosen = [{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight"}]
    assert ct.put_insight_selectors(TrailName="ins", InsightSelectors=chosen)["InsightSelectors"] == chosen
    assert ct.get_insight_selectors(TrailName="ins")["InsightSelectors"] == chosen
    assert ct.get_trail(Name="ins")["Trail"]["HasInsightSelectors"]
    with pytest.raises(ClientError) as twice:
        ct.put_insight_selectors(TrailName="ins", InsightSelectors=chosen[:1] * 2)
    assert code(twice) == "InvalidInsightSelectorsException"


def test_kms_key(tenant: Tenant) -> None:
    ct, kms = tenant.client("cloudtrail"), tenant.client("kms")
    bucket = tenant.bucket()
    plain = kms.create_key()["KeyMetadata"]
    with pytest.raises(ClientError) as denied:
        ct.create_trail(Name="enc", S3BucketName=bucket, KmsKeyId=plain["Arn"])
    assert code(denied) == "InsufficientEncryptionPolicyException"
    assert denied.value.response["Error"]["Message"] == (  # AWS's words, as its users quote them
        f"Insufficient permissions to access S3 bucket {bucket} or KMS key {plain['Arn']}.")
    root = f"arn:aws:iam::{tenant.account_id}:root"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
         "Resource": "*", "Condition": {"StringLike": {
             "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{tenant.account_id}:trail/*"}}}]}
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    kms.create_alias(AliasName="alias/trail", TargetKeyId=key["KeyId"])
    made = ct.create_trail(Name="enc", S3BucketName=bucket, KmsKeyId="alias/trail")
    assert made["KmsKeyId"] == key["Arn"]
    with pytest.raises(ClientError) as missing:
        ct.update_trail(Name="enc", KmsKeyId="alias/nothing")
    assert code(missing) == "KmsKeyNotFoundException"


def test_iam_policy_names_trails(tenant: Tenant) -> None:
    ct, iam = tenant.client("cloudtrail"), tenant.client("iam")
    bucket = tenant.bucket()
    ct.create_trail(Name="allowed", S3BucketName=bucket, TagsList=[{"Key": "team", "Value": "blue"}])
    ct.create_trail(Name="hidden", S3BucketName=bucket)
    ct.create_trail(Name="tagged", S3BucketName=bucket, TagsList=[{"Key": "team", "Value": "red"}])
    iam.create_user(UserName="reader")
    arn = f"arn:aws:cloudtrail:us-east-1:{tenant.account_id}:trail/allowed"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus"], "Resource": arn},
        {"Effect": "Allow", "Action": "cloudtrail:StopLogging", "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "red"}}}]}
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    user = tenant.server.client("cloudtrail", aws_access_key_id=key["AccessKeyId"],
                                aws_secret_access_key=key["SecretAccessKey"])
    assert user.get_trail(Name="allowed")["Trail"]["Name"] == "allowed"
    for call in (lambda: user.get_trail(Name="hidden"), lambda: user.stop_logging(Name="allowed")):
        with pytest.raises(ClientError) as denied:
            call()
        assert code(denied) == "AccessDeniedException"
    user.stop_logging(Name="tagged")


def test_organization_trails(server: Server) -> None:
    management, member = Tenant(server), Tenant(server)
    org = management.client("organizations")
    ct, bucket = management.client("cloudtrail"), management.bucket()
    with pytest.raises(ClientError) as noorg:
        ct.create_trail(Name="org", S3BucketName=bucket, IsOrganizationTrail=True)
    assert code(noorg) == "OrganizationsNotInUseException"
    org.create_organization(FeatureSet="ALL")
    handshake = org.invite_account_to_organization(Target={"Id": member.account_id, "Type": "ACCOUNT"})["Handshake"]
    member.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    with pytest.raises(ClientError) as untrusted:
        ct.create_trail(Name="org", S3BucketName=bucket, IsOrganizationTrail=True)
    assert code(untrusted) == "CloudTrailAccessNotEnabledException"
    org.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    with pytest.raises(ClientError) as notmanagement:
        member.client("cloudtrail").create_trail(Name="org", S3BucketName=member.bucket(), IsOrganizationTrail=True)
    assert code(notmanagement) == "NotOrganizationMasterAccountException"
    arn = ct.create_trail(Name="org", S3BucketName=bucket, IsOrganizationTrail=True,
                          IsMultiRegionTrail=True)["TrailARN"]
    seen = member.client("cloudtrail").describe_trails()["trailList"]
    assert [(t["TrailARN"], t["IsOrganizationTrail"]) for t in seen] == [(arn, True)]
    with pytest.raises(ClientError) as readonly:
        member.client("cloudtrail").stop_logging(Name=arn)
    assert code(readonly) in ("NotOrganizationMasterAccountException", "AccessDeniedException")


def test_cli_create_trail(tenant: Tenant, server: Server) -> None:
    bucket = tenant.bucket()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": tenant.creds["aws_access_key_id"],
           "AWS_SECRET_ACCESS_KEY": tenant.creds["aws_secret_access_key"], "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    done = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "cloudtrail",
                           "create-trail", "--name", "cli-trail", "--s3-bucket-name", bucket,
                           "--is-multi-region-trail"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["TrailARN"].endswith(":trail/cli-trail")
