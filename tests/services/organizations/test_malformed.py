"""Hostile input to every Organizations operation: always an AWS 4xx error, never a 500, nothing changed.

Each row drives one operation through boto3 with values the model accepts
(or, with client-side validation off, values it does not) and names the
error AWS answers. Operations Rampart does not implement answer 501
NotImplemented, which is a refusal too, never an InternalFailure.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.services.iam.helpers import unique
from tests.services.organizations.conftest import Account, Organization

SCP = "SERVICE_CONTROL_POLICY"
HUGE = "x" * 100_000
UNICODE = "\u00e9\u4e2d\U0001f600" * 10
GOOD_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})
ROOT = "<the organization's root>"  # replaced by the test's root id
UNCHECKED = Config(parameter_validation=False, retries={"max_attempts": 1})

# Ids shaped right (the model's patterns) that name nothing.
NO_OU, NO_POLICY, NO_HANDSHAKE, NO_ACCOUNT, NO_ROOT = (
    "ou-zz99-zzzzzzzz", "p-zzzzzzzz", "h-zzzzzzzzzz", "000000000000", "r-zz99")


def refusal(call: Any, **params: Any) -> tuple[int, str]:
    """(HTTP status, error code) of a call that must fail; fails the test on success or a 5xx."""
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    status, code = response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]
    assert 400 <= status < 500, (status, code, response["Error"].get("Message"))
    return status, code


# (operation, parameters, the error code): in an organization, as its management account.
AS_MANAGEMENT: list[tuple[str, dict[str, Any], str]] = [
    ("list_accounts", {"NextToken": "\u00e9"}, "InvalidInputException"),
    ("list_accounts", {"NextToken": "%%%%"}, "InvalidInputException"),
    ("list_accounts", {"NextToken": "YQ"}, "InvalidInputException"),  # no padding: not one of ours
    ("list_accounts", {"NextToken": HUGE}, "InvalidInputException"),
    ("list_roots", {"NextToken": "=="}, "InvalidInputException"),
    ("list_policies", {"Filter": "TAG_POLICY"}, "InvalidInputException"),
    ("describe_account", {"AccountId": NO_ACCOUNT}, "AccountNotFoundException"),
    ("describe_policy", {"PolicyId": NO_POLICY}, "PolicyNotFoundException"),
    ("describe_policy", {"PolicyId": "p-FullAWSAccess"}, None),  # the AWS managed one exists
    ("describe_organizational_unit", {"OrganizationalUnitId": NO_OU}, "OrganizationalUnitNotFoundException"),
    ("describe_handshake", {"HandshakeId": NO_HANDSHAKE}, "HandshakeNotFoundException"),
    ("describe_create_account_status", {"CreateAccountRequestId": "car-" + "z" * 32},
     "CreateAccountStatusNotFoundException"),
    ("accept_handshake", {"HandshakeId": NO_HANDSHAKE}, "HandshakeNotFoundException"),
    ("decline_handshake", {"HandshakeId": NO_HANDSHAKE}, "HandshakeNotFoundException"),
    ("cancel_handshake", {"HandshakeId": NO_HANDSHAKE}, "HandshakeNotFoundException"),
    ("create_policy", {"Content": "{", "Description": "", "Name": "bad", "Type": SCP},
     "MalformedPolicyDocumentException"),
    ("create_policy", {"Content": "[]", "Description": "", "Name": "bad", "Type": SCP},
     "MalformedPolicyDocumentException"),
    ("create_policy", {"Content": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bogus": {"a": "b"}}}]}),
        "Description": "", "Name": "bad", "Type": SCP}, "MalformedPolicyDocumentException"),
    ("create_policy", {"Content": GOOD_POLICY + " " * 5200, "Description": "", "Name": "big", "Type": SCP},
     "ConstraintViolationException"),
    ("create_policy", {"Content": GOOD_POLICY, "Description": "", "Name": "t", "Type": "TAG_POLICY"},
     "InvalidInputException"),
    ("create_policy", {"Content": GOOD_POLICY, "Description": "", "Name": "dup", "Type": SCP,
                       "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}, "InvalidInputException"),
    ("update_policy", {"PolicyId": "p-FullAWSAccess", "Name": "mine"}, "InvalidInputException"),
    ("update_policy", {"PolicyId": NO_POLICY, "Content": "{"}, "PolicyNotFoundException"),
    ("delete_policy", {"PolicyId": "p-FullAWSAccess"}, "InvalidInputException"),
    ("delete_policy", {"PolicyId": NO_POLICY}, "PolicyNotFoundException"),
    ("attach_policy", {"PolicyId": NO_POLICY, "TargetId": NO_OU}, "PolicyNotFoundException"),
    ("attach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": NO_OU}, "TargetNotFoundException"),
    ("attach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": NO_ACCOUNT}, "TargetNotFoundException"),
    ("detach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": NO_ROOT}, "TargetNotFoundException"),
    ("list_policies_for_target", {"TargetId": NO_OU, "Filter": SCP}, "TargetNotFoundException"),
    ("list_targets_for_policy", {"PolicyId": NO_POLICY}, "PolicyNotFoundException"),
    ("enable_policy_type", {"RootId": NO_ROOT, "PolicyType": SCP}, "RootNotFoundException"),
    ("enable_policy_type", {"RootId": NO_ROOT, "PolicyType": "TAG_POLICY"}, "InvalidInputException"),
    ("disable_policy_type", {"RootId": NO_ROOT, "PolicyType": SCP}, "RootNotFoundException"),
    ("create_organizational_unit", {"ParentId": NO_OU, "Name": UNICODE}, "ParentNotFoundException"),
    ("update_organizational_unit", {"OrganizationalUnitId": NO_OU, "Name": "x"},
     "OrganizationalUnitNotFoundException"),
    ("delete_organizational_unit", {"OrganizationalUnitId": NO_OU}, "OrganizationalUnitNotFoundException"),
    ("list_children", {"ParentId": NO_OU, "ChildType": "ACCOUNT"}, "ParentNotFoundException"),
    ("list_organizational_units_for_parent", {"ParentId": NO_ROOT}, "ParentNotFoundException"),
    ("list_accounts_for_parent", {"ParentId": NO_OU}, "ParentNotFoundException"),
    ("list_parents", {"ChildId": NO_ACCOUNT}, "ChildNotFoundException"),
    ("list_parents", {"ChildId": NO_OU}, "ChildNotFoundException"),
    ("move_account", {"AccountId": NO_ACCOUNT, "SourceParentId": NO_ROOT, "DestinationParentId": NO_OU},
     "AccountNotFoundException"),
    ("remove_account_from_organization", {"AccountId": NO_ACCOUNT}, "AccountNotFoundException"),
    ("invite_account_to_organization", {"Target": {"Id": NO_ACCOUNT, "Type": "ACCOUNT"}}, "AccountNotFoundException"),
    ("invite_account_to_organization", {"Target": {"Id": "someone@example.com", "Type": "EMAIL"}},
     "InvalidInputException"),
    ("invite_account_to_organization", {"Target": {"Id": "aws+\u0661\u0662@rampart.invalid", "Type": "EMAIL"}},
     "AccountNotFoundException"),
    ("tag_resource", {"ResourceId": NO_OU, "Tags": [{"Key": "k", "Value": "v"}]}, "TargetNotFoundException"),
    ("tag_resource", {"ResourceId": NO_POLICY, "Tags": [{"Key": "k", "Value": "v"}]}, "PolicyNotFoundException"),
    ("untag_resource", {"ResourceId": NO_ACCOUNT, "TagKeys": ["k"]}, "TargetNotFoundException"),
    ("list_tags_for_resource", {"ResourceId": NO_HANDSHAKE}, "ValidationException"),  # not a taggable id
    ("list_tags_for_resource", {"ResourceId": "r-zzzz9999"}, "TargetNotFoundException"),
    ("create_account", {"Email": f"{'a' * 50}@example.com", "AccountName": "ok",
                        "RoleName": "AWSServiceRoleForMine"}, "InvalidInputException"),  # AWS's reserved prefix
    ("create_account", {"Email": f"{'a' * 50}@example.com", "AccountName": UNICODE[:20]}, "ValidationException"),
    ("create_account", {"Email": f"{'b' * 50}@example.com", "AccountName": "n" * 128}, "ValidationException"),
    ("create_organization", {}, "AlreadyInOrganizationException"),
    ("leave_organization", {}, "MasterCannotLeaveOrganizationException"),
]

# With client-side validation off: values outside the model, which the server's validation must refuse.
UNMODELLED: list[tuple[str, dict[str, Any]]] = [
    ("list_accounts", {"MaxResults": 0}),
    ("list_accounts", {"MaxResults": 10**30}),
    ("describe_account", {"AccountId": UNICODE[:12]}),
    ("describe_policy", {"PolicyId": HUGE}),
    ("create_policy", {"Content": "", "Description": "", "Name": "", "Type": SCP}),
    ("create_policy", {"Content": GOOD_POLICY, "Description": HUGE, "Name": "n", "Type": SCP}),
    ("list_children", {"ParentId": "r-ab12", "ChildType": "BOGUS"}),
    ("tag_resource", {"ResourceId": ROOT, "Tags": [{"Key": "", "Value": "v"}]}),
    ("tag_resource", {"ResourceId": ROOT, "Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}),
    ("create_organizational_unit", {"ParentId": "r-ab12", "Name": HUGE}),
    ("move_account", {"AccountId": "1" * 12, "SourceParentId": "\x00", "DestinationParentId": "r-ab12"}),
    ("invite_account_to_organization", {"Target": {"Id": HUGE, "Type": "ACCOUNT"}}),
    ("create_account", {"Email": "@", "AccountName": "x"}),
    ("enable_policy_type", {"RootId": "r-ab12", "PolicyType": 5}),
]


@pytest.mark.parametrize(("operation", "params", "expected"), AS_MANAGEMENT,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(AS_MANAGEMENT)])
def test_management_account_gets_aws_errors(organization: Organization, operation: str, params: dict[str, Any],
                                            expected: str | None) -> None:
    org = organization.org
    if expected is None:
        getattr(org, operation)(**params)
        return
    assert refusal(getattr(org, operation), **params)[1] == expected
    assert [a["Id"] for a in org.list_accounts()["Accounts"]] == [organization.management.account_id]
    assert [p["Id"] for p in org.list_policies(Filter=SCP)["Policies"]] == ["p-FullAWSAccess"]


@pytest.mark.parametrize(("operation", "params"), UNMODELLED, ids=[f"{r[0]}-{i}" for i, r in enumerate(UNMODELLED)])
def test_values_outside_the_model_are_validation_errors(organization: Organization, operation: str,
                                                         params: dict[str, Any]) -> None:
    management = organization.management
    unchecked = management.server.client("organizations", config=UNCHECKED, **management.creds)
    params = {k: organization.root_id if v == ROOT else v for k, v in params.items()}
    _, code = refusal(getattr(unchecked, operation), **params)
    assert code in ("ValidationException", "InvalidInputException", "SerializationException",
                    "ConstraintViolationException"), code


def _sample_params(operation: str) -> dict[str, Any]:
    """Model-valid parameters for any operation: each required member with a hostile value of its shape."""
    model = botocore.session.get_session().get_service_model("organizations")
    shape = model.operation_model(operation).input_shape
    return {name: _value(shape.members[name]) for name in (shape.required_members if shape else ())}


def _value(shape: Any) -> Any:
    if shape.type_name == "structure":
        return {name: _value(shape.members[name]) for name in shape.required_members}
    if shape.type_name == "list":
        return [_value(shape.member)]
    if shape.type_name in ("integer", "long"):
        return int(shape.metadata.get("max", 2**31 - 1))
    if shape.type_name == "boolean":
        return True
    if shape.type_name == "timestamp":
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    if getattr(shape, "enum", None):
        return shape.enum[-1]
    return UNICODE[: int(shape.metadata.get("max", len(UNICODE)))] or "x"


OPERATIONS = botocore.session.get_session().get_service_model("organizations").operation_names


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_refuses_an_account_outside_any_organization(new_account: Any, operation: str) -> None:
    """Every operation, from an account in no organization, with hostile values: a refusal, never a 500."""
    outsider: Account = new_account()
    client = outsider.server.client("organizations", config=UNCHECKED, **outsider.creds)
    method = client.meta.method_to_api_mapping
    name = next(python for python, api in method.items() if api == operation)
    params = _sample_params(operation)
    if operation in ("CreateOrganization", "ListHandshakesForAccount"):
        pytest.skip(f"{operation} works for any account")
    with pytest.raises(ClientError) as caught:
        getattr(client, name)(**params)
    response = caught.value.response
    status, code = response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]
    assert status < 500 or (status == 501 and code == "NotImplemented"), (status, code)
    assert code != "InternalFailure"


def test_tag_values_of_every_shape_round_trip(organization: Organization) -> None:
    """Unicode and boundary-length tags are stored and read back exactly (or refused), never mangled."""
    org = organization.org
    tags = [{"Key": "k" * 128, "Value": "v" * 256}, {"Key": "\u00e9\u4e2d\u0661 :/=+-@", "Value": ""}]
    org.tag_resource(ResourceId=organization.root_id, Tags=tags)
    stored = org.list_tags_for_resource(ResourceId=organization.root_id)["Tags"]
    assert sorted(stored, key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])
    org.untag_resource(ResourceId=organization.root_id, TagKeys=[t["Key"] for t in tags] + [unique("absent")])
    assert org.list_tags_for_resource(ResourceId=organization.root_id)["Tags"] == []

