"""S3 Control's account-level Block Public Access, through boto3's s3control client.

Every test works in an account of its own (created with ``rampart account
create``): the account's flags cover all its buckets, so flipping them in the
shared default account would change what other tests see.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from defusedxml import ElementTree

from tests.conftest import Server
from tests.services.iam.helpers import allow, unique

ALL_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


class Tenant:
    """A fresh account: its id, root keys and clients."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.account_id, self.keys = server.new_account("s3c")
        self.s3 = server.client("s3", **self.keys)
        self.control = control_client(server, self.keys)

    def user_control(self, policy: dict[str, Any] | None) -> Any:
        """An s3control client signing as a new IAM user of this account."""
        iam = self.server.client("iam", **self.keys)
        name = unique("s3cuser")
        iam.create_user(UserName=name)
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return control_client(self.server, {"aws_access_key_id": key["AccessKeyId"],
                                            "aws_secret_access_key": key["SecretAccessKey"]})


def control_client(server: Server, keys: dict[str, str]) -> Any:
    """An s3control client on the server.

    botocore's endpoint rules put ``{AccountId}.`` in front of any endpoint
    (``inject_host_prefix=False`` does not stop them), a name that cannot
    resolve on loopback: the prefix is taken off before signing, so the
    request is signed for, and sent to, the server's own address.
    """
    client = server.client("s3control", config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
                           **keys)
    netloc = urlsplit(server.endpoint).netloc

    def strip_account_prefix(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        if parts.netloc != netloc and parts.netloc.endswith("." + netloc):
            request.url = urlunsplit(parts._replace(netloc=netloc))

    client.meta.events.register("before-sign.s3-control.*", strip_account_prefix)
    return client


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant(server)


def anonymous(server: Server) -> Any:
    return server.client("s3", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


def error_of(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def public_policy(bucket: str, action: str = "s3:GetBucketTagging") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": action, "Resource": f"arn:aws:s3:::{bucket}"}]})


def tagged_bucket(s3: Any) -> str:
    name = unique("s3c-b")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    return name


def test_put_get_delete_round_trip(tenant: Tenant) -> None:
    control, account = tenant.control, tenant.account_id
    assert error_of(lambda: control.get_public_access_block(AccountId=account)) == (
        "NoSuchPublicAccessBlockConfiguration", 404)
    control.put_public_access_block(AccountId=account,
                                    PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    got = control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
    assert got == {"BlockPublicAcls": True, "IgnorePublicAcls": False,
                   "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    control.put_public_access_block(AccountId=account,
                                    PublicAccessBlockConfiguration=dict.fromkeys(ALL_FLAGS, True))
    got = control.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]
    assert got == dict.fromkeys(ALL_FLAGS, True)
    control.delete_public_access_block(AccountId=account)
    control.delete_public_access_block(AccountId=account)  # idempotent
    assert error_of(lambda: control.get_public_access_block(AccountId=account))[0] == (
        "NoSuchPublicAccessBlockConfiguration")


def test_another_accounts_settings_are_access_denied(server: Server, tenant: Tenant) -> None:
    other = Tenant(server)
    other.control.put_public_access_block(AccountId=other.account_id,
                                          PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    for call in (
        lambda: tenant.control.get_public_access_block(AccountId=other.account_id),
        lambda: tenant.control.delete_public_access_block(AccountId=other.account_id),
        lambda: tenant.control.put_public_access_block(AccountId=other.account_id,
                                                       PublicAccessBlockConfiguration={}),
    ):
        assert error_of(call) == ("AccessDenied", 403)
    # Nothing changed in the other account.
    got = other.control.get_public_access_block(AccountId=other.account_id)["PublicAccessBlockConfiguration"]
    assert got["BlockPublicPolicy"] is True


def test_iam_actions_are_the_account_ones(tenant: Tenant) -> None:
    account = tenant.account_id
    bucket_actions = tenant.user_control(allow(["s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"]))
    assert error_of(lambda: bucket_actions.get_public_access_block(AccountId=account)) == ("AccessDenied", 403)
    assert error_of(lambda: bucket_actions.put_public_access_block(
        AccountId=account, PublicAccessBlockConfiguration={})) == ("AccessDenied", 403)
    reader = tenant.user_control(allow("s3:GetAccountPublicAccessBlock"))
    assert error_of(lambda: reader.get_public_access_block(AccountId=account))[0] == (
        "NoSuchPublicAccessBlockConfiguration")
    assert error_of(lambda: reader.delete_public_access_block(AccountId=account)) == ("AccessDenied", 403)
    writer = tenant.user_control(allow("s3:PutAccountPublicAccessBlock"))
    writer.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert reader.get_public_access_block(AccountId=account)["PublicAccessBlockConfiguration"]["IgnorePublicAcls"]
    writer.delete_public_access_block(AccountId=account)


def test_block_public_policy_at_account_level(tenant: Tenant) -> None:
    bucket = tagged_bucket(tenant.s3)
    tenant.control.put_public_access_block(AccountId=tenant.account_id,
                                           PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    assert error_of(lambda: tenant.s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))) == (
        "AccessDenied", 403)
    assert error_of(lambda: tenant.s3.get_public_access_block(Bucket=bucket))[0] == (
        "NoSuchPublicAccessBlockConfiguration")  # the bucket itself has no settings
    tenant.control.delete_public_access_block(AccountId=tenant.account_id)
    tenant.s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))


def test_restrict_public_buckets_at_account_level(server: Server, tenant: Tenant) -> None:
    bucket = tagged_bucket(tenant.s3)
    tenant.s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    anon = anonymous(server)
    assert anon.get_bucket_tagging(Bucket=bucket)["TagSet"]
    tenant.control.put_public_access_block(AccountId=tenant.account_id,
                                           PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    assert error_of(lambda: anon.get_bucket_tagging(Bucket=bucket)) == ("AccessDenied", 403)
    tenant.control.delete_public_access_block(AccountId=tenant.account_id)
    assert anon.get_bucket_tagging(Bucket=bucket)["TagSet"]


def test_ignore_public_acls_at_account_level(server: Server, tenant: Tenant) -> None:
    bucket = tagged_bucket(tenant.s3)
    tenant.s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    tenant.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    anon = anonymous(server)
    anon.head_bucket(Bucket=bucket)
    tenant.control.put_public_access_block(AccountId=tenant.account_id,
                                           PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert error_of(lambda: anon.head_bucket(Bucket=bucket)) == ("403", 403)
    tenant.control.delete_public_access_block(AccountId=tenant.account_id)
    anon.head_bucket(Bucket=bucket)


def test_block_public_acls_at_account_level(tenant: Tenant) -> None:
    bucket = tagged_bucket(tenant.s3)
    tenant.s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    tenant.control.put_public_access_block(AccountId=tenant.account_id,
                                           PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    assert error_of(lambda: tenant.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")) == ("AccessDenied", 403)
    tenant.control.delete_public_access_block(AccountId=tenant.account_id)
    tenant.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")


def test_error_body_is_s3_controls_xml(tenant: Tenant) -> None:
    """The raw answer: an XML error document with Code, Message and a request id, as botocore parses it."""
    url = f"{tenant.server.endpoint}/v20180820/configuration/publicAccessBlock"
    request = AWSRequest(method="GET", url=url, headers={"x-amz-account-id": tenant.account_id})
    credentials = Credentials(tenant.keys["aws_access_key_id"], tenant.keys["aws_secret_access_key"])
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    response = httpx.get(url, headers=dict(request.headers.items()), timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(("application/xml", "text/xml"))
    root = ElementTree.fromstring(response.content)
    # AWS's S3 Control wraps the error: <ErrorResponse><Error>...</Error><RequestId/></ErrorResponse>.
    assert _local(root.tag) == "ErrorResponse"
    error = {_local(child.tag): child for child in root}
    assert set(error) >= {"Error", "RequestId"}
    fields = {_local(child.tag): child.text for child in error["Error"]}
    assert fields["Code"] == "NoSuchPublicAccessBlockConfiguration"
    assert fields["Message"] == "The public access block configuration was not found"
    assert fields["AccountId"] == tenant.account_id
    request_id = response.headers.get("x-amz-request-id") or response.headers.get("x-amzn-requestid")
    assert error["RequestId"].text == request_id


def _local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]
