"""Small account-level IAM operations through a real boto3 client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import allow, unique


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    """The error code of a client error."""
    return str(excinfo.value.response["Error"]["Code"])


def test_sts_preferences_show_in_the_account_summary(iam: Any) -> None:
    def version() -> int:
        return iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"]

    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert version() == 2
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v1Token")
    assert version() == 1


def test_account_properties(iam: Any) -> None:
    namespace = "Ns" + unique("p").replace("-", "")
    iam.put_account_properties(Properties={f"{namespace}/Enabled": "true"})
    iam.put_account_properties(Properties={f"{namespace}/Other": "x", f"{namespace}/Enabled": "false"})
    props = iam.get_account_properties()["Properties"]
    assert props[f"{namespace}/Enabled"] == "false" and props[f"{namespace}/Other"] == "x"
    with pytest.raises(ClientError) as excinfo:
        iam.put_account_properties(Properties={"A/x": "1", "B/y": "2"})
    assert code_of(excinfo) == "InvalidInput"
    with pytest.raises(ClientError) as excinfo:
        iam.put_account_properties(Properties={"NoSlash": "1"})
    assert code_of(excinfo) == "InvalidInput"


def test_policies_granting_service_access(iam: Any) -> None:
    user, group = unique("u"), unique("g")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="s3read", PolicyDocument=json.dumps(allow("s3:Get*")))
    iam.put_group_policy(GroupName=group, PolicyName="everything", PolicyDocument=json.dumps(allow("*")))
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    arn = iam.get_user(UserName=user)["User"]["Arn"]
    answer = iam.list_policies_granting_service_access(Arn=arn, ServiceNamespaces=["s3", "iam", "kms"])
    by_ns = {e["ServiceNamespace"]: e["Policies"] for e in answer["PoliciesGrantingServiceAccess"]}
    assert {p["PolicyName"] for p in by_ns["s3"]} == {"s3read", "everything"}
    assert {p["PolicyName"] for p in by_ns["iam"]} == {"IAMReadOnlyAccess", "everything"}
    assert [p["PolicyName"] for p in by_ns["kms"]] == ["everything"]
    group_entry = by_ns["kms"][0]
    assert group_entry == {"PolicyName": "everything", "PolicyType": "INLINE", "EntityType": "GROUP",
                           "EntityName": group}
    managed = next(p for p in by_ns["iam"] if p["PolicyType"] == "MANAGED")
    assert managed["PolicyArn"] == "arn:aws:iam::aws:policy/IAMReadOnlyAccess"

    group_arn = iam.get_group(GroupName=group)["Group"]["Arn"]
    answer = iam.list_policies_granting_service_access(Arn=group_arn, ServiceNamespaces=["s3"])
    assert [p["PolicyName"] for p in answer["PoliciesGrantingServiceAccess"][0]["Policies"]] == ["everything"]
    with pytest.raises(ClientError) as excinfo:
        iam.list_policies_granting_service_access(Arn=arn, ServiceNamespaces=["not-a-service"])
    assert code_of(excinfo) == "InvalidInput"
    with pytest.raises(ClientError) as excinfo:
        iam.list_policies_granting_service_access(Arn=arn + "-ghost", ServiceNamespaces=["s3"])
    assert code_of(excinfo) == "NoSuchEntity"


def test_update_open_id_connect_provider(iam: Any, server: Server) -> None:
    url = f"https://{unique('issuer')}.example.com"
    arn = iam.create_open_id_connect_provider(Url=url, ClientIDList=["app"])["OpenIDConnectProviderArn"]
    context = {"SubjectSourceKey": "sub", "KeyDefinitionList": [{"SourceKey": "email", "TargetKey": "mail"}]}
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, ContextProvider=context)
    instance = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, IdentityCenterInstanceArn=instance)
    with pytest.raises(ClientError) as excinfo:
        iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, RemoveContextProvider=True)
    assert code_of(excinfo) == "InvalidInput"
    with pytest.raises(ClientError) as excinfo:
        iam.update_open_id_connect_provider(
            OpenIDConnectProviderArn=arn, ContextProvider=context, RemoveContextProvider=True
        )
    assert code_of(excinfo) == "InvalidInput"
    stored = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert stored["ContextProvider"] == context and stored["IdentityCenterInstanceArn"] == instance
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, RemoveIdentityCenterInstance=True)
    iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn, RemoveContextProvider=True)
    with pytest.raises(ClientError) as excinfo:
        iam.update_open_id_connect_provider(OpenIDConnectProviderArn=arn + "x", RemoveContextProvider=True)
    assert code_of(excinfo) == "NoSuchEntity"
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
