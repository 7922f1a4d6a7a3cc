"""A member root's GetSessionToken session carries its session keys to SCPs.

The gateway describes the root user itself (IAM's subject resolver never sees
root); STS hands it the session's keys (aws:MultiFactorAuthPresent,
aws:MultiFactorAuthAge, aws:TokenIssueTime) through
``authorize.set_session_context_resolver``. Through boto3: SCPs keyed on those
keys tell a root session from root's long-term keys. AWS offers no API to give
root an MFA device (console only), so the MFA-present case is a table-driven
test of ``subject_of`` against the real engine.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.gateway import authorize
from rampart.gateway.authorize import AccountOrg, ResourceFacts
from rampart.gateway.call import Call, Caller
from rampart.policy import PolicyType, compile_policy
from rampart.services.sts.sessions import SessionSpec, principal_of
from rampart.services.sts.wiring import root_session_context
from tests.services.iam.helpers import error_of, unique
from tests.services.organizations.conftest import (  # noqa: F401 - fixtures
    Account,
    Organization,
    deny,
    new_account,
    organization,
)

MEMBER = "444455556666"
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
FULL_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
MFA_ABSENT_DENIED = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
NOT_MFA_DENIED = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
TEMPORARY_DENIED = {"Null": {"aws:TokenIssueTime": "false"}}
OLD_MFA_DENIED = {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "600"}}


def _create_user(iam: Any) -> None:
    iam.create_user(UserName=unique("u"))


def _session_iam(member: Account) -> Any:
    made = member.client("sts").get_session_token()["Credentials"]
    return member.client("iam", aws_access_key_id=made["AccessKeyId"],
                         aws_secret_access_key=made["SecretAccessKey"], aws_session_token=made["SessionToken"])


@pytest.mark.parametrize(("condition", "plain_allowed", "session_allowed"), [
    (NOT_MFA_DENIED, True, False),      # the session says MFA was not used; root's own keys carry no such key
    (MFA_ABSENT_DENIED, False, False),  # "MFA or nothing": neither proved MFA
    (TEMPORARY_DENIED, True, False),    # aws:TokenIssueTime exists only for temporary credentials
])
def test_scps_see_a_member_roots_session_keys(
    organization: Organization, new_account: Any, condition: dict[str, Any],  # noqa: F811
    plain_allowed: bool, session_allowed: bool,
) -> None:
    member: Account = new_account()
    organization.invite(member)
    organization.enable()
    policy = organization.policy(deny("iam:CreateUser", condition=condition))
    organization.org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    for iam, allowed in ((member.client("iam"), plain_allowed), (_session_iam(member), session_allowed)):
        if allowed:
            _create_user(iam)
            continue
        with pytest.raises(ClientError) as caught:
            _create_user(iam)
        code, message = error_of(caught)
        assert code == "AccessDenied" and f"arn:aws:iam::{member.account_id}:root" in message
        assert "service control policy" in message


# --- the MFA-present case, against the engine --------------------------------------------------


def _root_call(mfa_minutes_ago: int | None, *, temporary: bool = True) -> Call:
    """A call by the member's root: long-term keys, or a GetSessionToken session (with MFA or not)."""
    if not temporary:
        principal: Any = type("Root", (), {"kind": "root", "arn": f"arn:aws:iam::{MEMBER}:root",
                                           "account_id": MEMBER, "name": None, "user_id": MEMBER})()
    else:
        mfa_at = NOW - dt.timedelta(minutes=mfa_minutes_ago) if mfa_minutes_ago is not None else None
        spec = SessionSpec(MEMBER, "root", f"arn:aws:iam::{MEMBER}:root", MEMBER, None, NOW - dt.timedelta(minutes=20),
                           NOW + dt.timedelta(hours=1), mfa_authenticated=mfa_at is not None, mfa_auth_time=mfa_at)
        principal = principal_of("ASIAEXAMPLEEXAMPLE01", spec)
    return Call(gateway=None, received_at=NOW, caller=Caller(account_id=MEMBER, principal=principal))


def _member_org(condition: dict[str, Any]) -> AccountOrg:
    scp = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*", "Condition": condition}]}
    level = (compile_policy(json.dumps(FULL_ACCESS), "FullAWSAccess", PolicyType.SCP),
             compile_policy(json.dumps(scp), unique("scp"), PolicyType.SCP))
    return AccountOrg("o-abcdefghij", "o-abcdefghij/r-ab12/", False, scp_levels=(level,))


@pytest.mark.parametrize(("condition", "temporary", "mfa_minutes_ago", "allowed"), [
    (MFA_ABSENT_DENIED, False, None, False),  # root's long-term keys: no MFA key at all
    (MFA_ABSENT_DENIED, True, None, False),   # a session without MFA
    (MFA_ABSENT_DENIED, True, 5, True),       # a session that used MFA
    (OLD_MFA_DENIED, True, 5, True),          # aws:MultiFactorAuthAge 300 seconds
    (OLD_MFA_DENIED, True, 15, False),        # ... 900 seconds
    (TEMPORARY_DENIED, False, None, True),
    (TEMPORARY_DENIED, True, None, False),
])
def test_root_subject_carries_session_keys_to_scps(
    monkeypatch: pytest.MonkeyPatch, condition: dict[str, Any], temporary: bool, mfa_minutes_ago: int | None,
    allowed: bool,
) -> None:
    org = _member_org(condition)
    monkeypatch.setattr(authorize, "_org_resolver", [lambda account: org if account == MEMBER else None])
    monkeypatch.setattr(authorize, "_session_context_resolver", [root_session_context])
    call = _root_call(mfa_minutes_ago, temporary=temporary)
    subject = authorize.subject_of(call)
    context = {**subject.context, "aws:CurrentTime": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")}
    facts = ResourceFacts(f"arn:aws:iam::{MEMBER}:user/someone", account=MEMBER)
    assert authorize.decide(subject, "iam:CreateUser", facts, context).allowed is allowed
    assert ("aws:TokenIssueTime" in subject.context) is temporary


def test_the_cached_root_subject_is_not_changed_by_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's keys ride on a copy: root's cached subject (and its policies) stay as they were."""
    monkeypatch.setattr(authorize, "_org_resolver", [])
    monkeypatch.setattr(authorize, "_session_context_resolver", [root_session_context])
    session = authorize.subject_of(_root_call(5))
    plain = authorize.subject_of(_root_call(None, temporary=False))
    assert session.context["aws:MultiFactorAuthPresent"] is True
    assert session.context["aws:MultiFactorAuthAge"] == "300"
    assert "aws:MultiFactorAuthPresent" not in plain.context
    assert session.policies is plain.policies and session.principal is plain.principal


def test_only_root_sessions_are_described_by_the_hook() -> None:
    """IAM's resolver adds the keys of IAM principals' sessions; the hook answers for root's alone."""
    user = SessionSpec(MEMBER, "user", f"arn:aws:iam::{MEMBER}:user/u", "AIDAEXAMPLE", f"arn:aws:iam::{MEMBER}:user/u",
                       NOW, NOW + dt.timedelta(hours=1))
    call = Call(gateway=None, received_at=NOW,
                caller=Caller(account_id=MEMBER, principal=principal_of("ASIAEXAMPLEEXAMPLE02", user)))
    assert root_session_context(call) is None
    assert root_session_context(_root_call(None, temporary=False)) is None
    assert root_session_context(_root_call(None))["aws:MultiFactorAuthPresent"] is False
