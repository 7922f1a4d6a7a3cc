"""Property: what SimulatePrincipalPolicy says about a call is what enforcement does to it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Server
from tests.services.iam.helpers import unique

ACTIONS = ("iam:GetUser", "iam:ListUsers", "iam:GetGroup", "iam:ListGroups")
ACTION_PATTERNS = (*ACTIONS, "iam:Get*", "iam:List*", "iam:*", "*")


def statement(targets: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """One Allow or Deny over a few actions and resources of the test's little universe."""
    return st.fixed_dictionaries({
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Action": st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True),
        "Resource": st.lists(st.sampled_from(["*", *targets]), min_size=1, max_size=2, unique=True),
    })


def enforced(client: Any, action: str, user: str, group: str) -> bool:
    """Whether the real call gets past authorization."""
    calls = {
        "iam:GetUser": lambda: client.get_user(UserName=user),
        "iam:ListUsers": lambda: client.list_users(MaxItems=1),
        "iam:GetGroup": lambda: client.get_group(GroupName=group),
        "iam:ListGroups": lambda: client.list_groups(MaxItems=1),
    }
    try:
        calls[action]()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error.response["Error"]
        return False
    return True


def test_simulation_matches_enforcement(server: Server) -> None:
    root = server.client("iam")
    caller, target, group = unique("sim-caller"), unique("sim-target"), unique("sim-group")
    root.create_user(UserName=caller)
    target_arn = root.create_user(UserName=target)["User"]["Arn"]
    group_arn = root.create_group(GroupName=group)["Group"]["Arn"]
    caller_arn = root.get_user(UserName=caller)["User"]["Arn"]
    key = root.create_access_key(UserName=caller)["AccessKey"]
    client = server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    resource_of = {"iam:GetUser": target_arn, "iam:GetGroup": group_arn}
    other = target_arn.replace(target, "someone-else")

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(statement([target_arn, group_arn, other]), min_size=1, max_size=3))
    def check(statements: list[dict[str, Any]]) -> None:
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        root.put_user_policy(UserName=caller, PolicyName="property", PolicyDocument=document)
        for action in ACTIONS:
            resource = resource_of.get(action, "*")
            simulated = root.simulate_principal_policy(
                PolicySourceArn=caller_arn, ActionNames=[action], ResourceArns=[resource]
            )["EvaluationResults"][0]["EvalDecision"]
            assert (simulated == "allowed") == enforced(client, action, target, group), (action, document)

    check()
