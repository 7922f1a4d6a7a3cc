"""Evaluation rules, each from the AWS documentation page named above its test.

Abbreviations: ID = identity-based, RBP = resource-based policy.
"""

from __future__ import annotations

import pytest

from policy_helpers import (
    ACCT, OTHER, anonymous, decide, federated, pol, role_session, root, service, st, user,
)
from rampart.policy import DecisionKind, PolicyType, denial_reason

T = PolicyType
BUCKET = "arn:aws:s3:::b/k"
ALLOW = pol(st(), pid="allow-all")
DENY = pol(st("Deny", Sid="NoS3", action="s3:*"), pid="deny-s3")
ALLOW_S3 = pol(st(action="s3:*"), pid="allow-s3")
ALLOW_EC2 = pol(st(action="ec2:*"), pid="allow-ec2")


def rbp(principal, effect="Allow", pid="bucket", ptype=T.RESOURCE, key="Principal", **extra):
    return pol(st(effect, action="s3:*", resource="arn:aws:s3:::b/*", **{key: principal}, **extra), ptype=ptype, pid=pid)


# --- "Policy evaluation logic" / "Explicit and implicit denies" ----------------------

def test_default_is_implicit_deny():
    d = decide(user(), "s3:GetObject", BUCKET)
    assert d.kind is DecisionKind.IMPLICIT_DENY and d.blocked_by is T.IDENTITY
    assert denial_reason(d, "s3:GetObject") == "because no identity-based policy allows the s3:GetObject action"


def test_identity_allow_and_deciding_statement():
    d = decide(user(), "s3:GetObject", BUCKET, identity=[ALLOW])
    assert d.allowed and d.deciding[0].policy_id == "allow-all" and d.deciding[0].effect == "Allow"
    assert denial_reason(d, "s3:GetObject") == ""


@pytest.mark.parametrize("layer,blocked", [
    ({"identity": [ALLOW, DENY]}, T.IDENTITY),
    ({"identity": [ALLOW], "boundary": pol(st(), st("Deny", action="s3:*"), ptype=T.BOUNDARY)}, T.BOUNDARY),
    ({"identity": [ALLOW], "session": [pol(st("Deny", action="s3:Get*"), ptype=T.SESSION)]}, T.SESSION),
    ({"identity": [ALLOW], "scp_levels": [[ALLOW], [pol(st("Deny", action="s3:*"), ptype=T.SCP)]]}, T.SCP),
    ({"identity": [ALLOW], "rcp_levels": [[pol(st("Deny", action="s3:*", Principal="*"), ptype=T.RCP)]]}, T.RCP),
    ({"identity": [ALLOW], "resource": rbp("*", effect="Deny")}, T.RESOURCE),
])
def test_explicit_deny_anywhere_wins(layer, blocked):
    d = decide(user(), "s3:GetObject", BUCKET, **layer)
    assert d.kind is DecisionKind.EXPLICIT_DENY and d.blocked_by is blocked
    assert d.deciding and all(ref.effect == "Deny" for ref in d.deciding)


@pytest.mark.parametrize("blocked,words,article", [
    (T.IDENTITY, "identity-based policy", "an"), (T.SCP, "service control policy", "a"),
    (T.RCP, "resource control policy", "a"), (T.BOUNDARY, "permissions boundary", "a"),
    (T.SESSION, "session policy", "a"), (T.RESOURCE, "resource-based policy", "a"),
])
def test_denial_reason_wordings(blocked, words, article):
    from rampart.policy import Decision
    assert denial_reason(Decision(DecisionKind.EXPLICIT_DENY, (), blocked), "iam:CreateUser") == (
        f"with an explicit deny in {article} {words}")
    assert denial_reason(Decision(DecisionKind.IMPLICIT_DENY, (), blocked), "iam:CreateUser") == (
        f"because no {words} allows the iam:CreateUser action")


# --- guards: "Service control policies", "Resource control policies", boundaries, sessions --

@pytest.mark.parametrize("policies,blocked", [
    ({"scp_levels": [[ALLOW], [ALLOW_EC2], [ALLOW]]}, T.SCP),   # every level must allow
    ({"scp_levels": [[ALLOW], []]}, T.SCP),                     # a level with no policy allows nothing
    ({"rcp_levels": [[ALLOW], [ALLOW_EC2]]}, T.RCP),
    ({"boundary": pol(st(action="ec2:*"), ptype=T.BOUNDARY)}, T.BOUNDARY),
    ({"session": [pol(st(action="ec2:*"), ptype=T.SESSION)]}, T.SESSION),
])
def test_every_guard_must_allow(policies, blocked):
    d = decide(user(), "s3:GetObject", BUCKET, identity=[ALLOW], **policies)
    assert d.kind is DecisionKind.IMPLICIT_DENY and d.blocked_by is blocked
    ok = decide(user(), "ec2:RunInstances", identity=[ALLOW], **policies) if blocked is not T.SCP or policies[
        "scp_levels"][1] else None
    assert ok is None or ok.allowed


def test_guards_grant_nothing_on_their_own():
    d = decide(user(), "s3:GetObject", BUCKET, boundary=ALLOW, scp_levels=[[ALLOW]], session=[ALLOW])
    assert d.blocked_by is T.IDENTITY


def test_several_session_policies_combine():
    sessions = [pol(st(action="ec2:*"), ptype=T.SESSION, pid="a"), pol(st(action="s3:*"), ptype=T.SESSION, pid="b")]
    assert decide(role_session(), "s3:GetObject", BUCKET, identity=[ALLOW], session=sessions).allowed


# --- same account: "Policy evaluation logic" (identity + resource-based policies),
#     "Permissions boundaries for IAM entities", "Session policies" ------------------

BOUNDARY_EC2 = pol(st(action="ec2:*"), ptype=T.BOUNDARY, pid="pb")
SESSION_EC2 = [pol(st(action="ec2:*"), ptype=T.SESSION, pid="sp")]


def test_same_account_resource_policy_alone_grants():
    d = decide(user("alice"), "s3:GetObject", BUCKET, resource=rbp({"AWS": f"arn:aws:iam::{ACCT}:user/alice"}))
    assert d.allowed and d.deciding[0].policy_type is T.RESOURCE


def test_same_account_identity_alone_grants():
    assert decide(user(), "s3:GetObject", BUCKET, identity=[ALLOW_S3], resource=rbp({"AWS": f"arn:aws:iam::{ACCT}:user/x"})).allowed


@pytest.mark.parametrize("principal,named,extra,expected", [
    # IAM user ARN: boundary's implicit deny does not limit the RBP grant
    (user("alice"), f"arn:aws:iam::{ACCT}:user/alice", {"boundary": BOUNDARY_EC2}, True),
    # role ARN: limited by the session's boundary and session policies
    (role_session("R"), f"arn:aws:iam::{ACCT}:role/R", {"boundary": BOUNDARY_EC2}, False),
    (role_session("R"), f"arn:aws:iam::{ACCT}:role/R", {"session": SESSION_EC2}, False),
    (role_session("R"), f"arn:aws:iam::{ACCT}:role/R", {}, True),
    # role-session ARN: not limited
    (role_session("R", "s"), f"arn:aws:sts::{ACCT}:assumed-role/R/s", {"boundary": BOUNDARY_EC2}, True),
    (role_session("R", "s"), f"arn:aws:sts::{ACCT}:assumed-role/R/s", {"session": SESSION_EC2}, True),
    # federated user: its own ARN is not limited; the IAM user's ARN is limited by the session policy
    (federated("f", "alice"), f"arn:aws:sts::{ACCT}:federated-user/f", {"session": SESSION_EC2}, True),
    (federated("f", "alice"), f"arn:aws:iam::{ACCT}:user/alice", {"session": SESSION_EC2}, False),
    (federated("f", "alice"), f"arn:aws:iam::{ACCT}:user/alice", {}, True),
    # the account principal delegates to identity policies: no grant by itself
    (user("alice"), ACCT, {}, False),
    (user("alice"), f"arn:aws:iam::{ACCT}:root", {"identity": [ALLOW_S3]}, True),
    (role_session(), f"arn:aws:iam::{ACCT}:root", {}, False),
    # "*": everyone, not limited
    (user("alice"), "*", {"boundary": BOUNDARY_EC2}, True),
    (role_session(), "*", {"session": SESSION_EC2}, True),
])
def test_same_account_grant_by_whom_the_resource_policy_names(principal, named, extra, expected):
    resource = rbp(named if named == "*" else {"AWS": named})
    assert decide(principal, "s3:GetObject", BUCKET, resource=resource, **extra).allowed is expected


def test_same_account_identity_grant_is_cut_by_boundary():
    d = decide(user(), "s3:GetObject", BUCKET, identity=[ALLOW], boundary=BOUNDARY_EC2,
               resource=rbp({"AWS": ACCT}))
    assert d.blocked_by is T.BOUNDARY
    assert denial_reason(d, "s3:GetObject") == "because no permissions boundary allows the s3:GetObject action"


# --- "Cross-account policy evaluation logic" ----------------------------------------

@pytest.mark.parametrize("identity,named,expected,blocked", [
    ([ALLOW_S3], OTHER, True, None),
    ([ALLOW_S3], f"arn:aws:iam::{OTHER}:user/alice", True, None),
    ([], f"arn:aws:iam::{OTHER}:user/alice", False, T.IDENTITY),
    ([ALLOW_S3], f"arn:aws:iam::{OTHER}:user/bob", False, T.RESOURCE),
    ([ALLOW_S3], None, False, T.RESOURCE),
])
def test_cross_account_needs_both(identity, named, expected, blocked):
    resource = rbp({"AWS": named}) if named else None
    d = decide(user("alice", OTHER), "s3:GetObject", BUCKET, resource_account=ACCT, identity=identity, resource=resource)
    assert d.allowed is expected and d.blocked_by is blocked


def test_cross_account_boundary_still_applies():
    d = decide(user("alice", OTHER), "s3:GetObject", BUCKET, resource_account=ACCT, identity=[ALLOW],
               boundary=BOUNDARY_EC2, resource=rbp({"AWS": f"arn:aws:iam::{OTHER}:user/alice"}))
    assert d.blocked_by is T.BOUNDARY


# --- role trust policies and KMS key policies must allow explicitly ("KMS key access and
#     permissions: Key policies", "How to use trust policies with IAM roles") --------------

def key_policy(named):
    return pol(st(action="kms:*", Principal={"AWS": named}), ptype=T.KMS_KEY, pid="key")


KEY = "arn:aws:kms:us-east-1:111111111111:key/k1"


@pytest.mark.parametrize("named,identity,expected,blocked", [
    (f"arn:aws:iam::{ACCT}:root", [ALLOW], True, None),        # key policy delegates to IAM
    (f"arn:aws:iam::{ACCT}:root", [], False, T.IDENTITY),
    (f"arn:aws:iam::{ACCT}:user/alice", [], True, None),       # key policy grants the user directly
    (f"arn:aws:iam::{ACCT}:user/bob", [ALLOW], False, T.KMS_KEY),  # IAM policies do not count
])
def test_kms_key_policy_must_allow(named, identity, expected, blocked):
    d = decide(user("alice"), "kms:Decrypt", KEY, identity=identity, resource=key_policy(named))
    assert d.allowed is expected and d.blocked_by is blocked
    if blocked is T.KMS_KEY:
        assert denial_reason(d, "kms:Decrypt") == "because no resource-based policy allows the kms:Decrypt action"


def test_kms_without_key_policy_denies_and_root_needs_the_key_policy_too():
    assert decide(user(), "kms:Decrypt", KEY, identity=[ALLOW], resource=None, resource_must_allow=True).blocked_by is T.RESOURCE
    assert not decide(root(), "kms:Decrypt", KEY, resource=key_policy(f"arn:aws:iam::{ACCT}:user/bob")).allowed
    assert decide(root(), "kms:Decrypt", KEY, resource=key_policy(ACCT)).allowed


ROLE = f"arn:aws:iam::{ACCT}:role/Target"


def trust(named):
    return pol({"Effect": "Allow", "Action": "sts:AssumeRole*", "Principal": named}, ptype=T.TRUST, pid="trust")


@pytest.mark.parametrize("principal,named,identity,expected", [
    (user("alice"), {"AWS": f"arn:aws:iam::{ACCT}:user/alice"}, [], True),
    (user("alice"), {"AWS": ACCT}, [], False),
    (user("alice"), {"AWS": ACCT}, [ALLOW], True),
    (user("alice"), {"AWS": f"arn:aws:iam::{ACCT}:user/bob"}, [ALLOW], False),
    (user("alice", OTHER), {"AWS": OTHER}, [ALLOW], True),
    (user("alice", OTHER), {"AWS": OTHER}, [], False),
    (service("ec2.amazonaws.com"), {"Service": "ec2.amazonaws.com"}, [], True),
    (service("lambda.amazonaws.com"), {"Service": "ec2.amazonaws.com"}, [], False),
])
def test_role_trust_policy(principal, named, identity, expected):
    d = decide(principal, "sts:AssumeRole", ROLE, resource_account=ACCT, identity=identity, resource=trust(named))
    assert d.allowed is expected


def test_federated_trust():
    from rampart.policy import Principal, PrincipalType
    web = Principal(PrincipalType.ANONYMOUS, federated_provider="cognito-identity.amazonaws.com")
    policy = trust({"Federated": "cognito-identity.amazonaws.com"})
    # a web-identity caller has no IAM identity; the trust policy names its provider
    assert decide(web, "sts:AssumeRoleWithWebIdentity", ROLE, resource=policy).allowed
    other = Principal(PrincipalType.ANONYMOUS, federated_provider="accounts.google.com")
    assert not decide(other, "sts:AssumeRoleWithWebIdentity", ROLE, resource=policy).allowed


# --- root, management account, service-linked roles ("Service control policies",
#     "Resource control policies", "AWS account root user") ---------------------------

def test_root_may_do_everything_in_its_account():
    assert decide(root(), "iam:CreateUser").allowed


def test_root_is_subject_to_scps_and_rcps():
    assert decide(root(), "s3:GetObject", BUCKET, scp_levels=[[DENY]]).kind is DecisionKind.EXPLICIT_DENY
    assert decide(root(), "s3:GetObject", BUCKET, scp_levels=[[ALLOW_EC2]]).blocked_by is T.SCP
    assert decide(root(), "s3:GetObject", BUCKET, rcp_levels=[[ALLOW_EC2]]).blocked_by is T.RCP


def test_root_cross_account_needs_the_resource_policy():
    assert not decide(root(OTHER), "s3:GetObject", BUCKET, resource_account=ACCT).allowed
    assert decide(root(OTHER), "s3:GetObject", BUCKET, resource_account=ACCT, resource=rbp({"AWS": OTHER})).allowed


def test_management_account_is_not_subject_to_scps_or_rcps():
    p = user(in_management_account=True)
    d = decide(p, "s3:GetObject", BUCKET, identity=[ALLOW], scp_levels=[[DENY]], rcp_levels=[[DENY]])
    assert d.allowed
    assert decide(root(in_management_account=True), "s3:GetObject", scp_levels=[[DENY]]).allowed


def test_rcps_follow_the_resource_account_not_the_caller():
    p = user("alice", OTHER, in_management_account=True)
    d = decide(p, "s3:GetObject", BUCKET, resource_account=ACCT, identity=[ALLOW], resource=rbp({"AWS": OTHER}),
               rcp_levels=[[DENY]])
    assert d.kind is DecisionKind.EXPLICIT_DENY and d.blocked_by is T.RCP


def test_service_linked_roles_are_not_subject_to_scps():
    slr = role_session("AWSServiceRoleForX", is_service_linked_role=True)
    assert decide(slr, "s3:GetObject", BUCKET, identity=[ALLOW], scp_levels=[[DENY]]).allowed
    assert not decide(role_session(), "s3:GetObject", BUCKET, identity=[ALLOW], scp_levels=[[DENY]]).allowed


# --- NotPrincipal ("AWS JSON policy elements: NotPrincipal") and anonymous requests ----

def deny_all_but(names):
    return rbp({"AWS": names}, effect="Deny", key="NotPrincipal")


ALICE = f"arn:aws:iam::{ACCT}:user/alice"


@pytest.mark.parametrize("principal,names,extra,denied", [
    (user("alice"), [ALICE, ACCT], {}, False),
    (user("alice"), [ALICE], {}, True),                      # the account must be listed too
    (user("bob"), [ALICE, ACCT], {}, True),
    (role_session("R", "s"), [f"arn:aws:sts::{ACCT}:assumed-role/R/s", ACCT], {}, False),
    (root(), [ACCT], {}, False),
    # with a permissions boundary, NotPrincipal+Deny always denies
    (user("alice"), [ALICE, ACCT], {"boundary": ALLOW}, True),
    (anonymous(), [ALICE, ACCT], {}, True),
])
def test_not_principal_with_deny(principal, names, extra, denied):
    d = decide(principal, "s3:GetObject", BUCKET, identity=[ALLOW], **extra, resource=deny_all_but(names))
    assert (d.kind is DecisionKind.EXPLICIT_DENY) is denied


def test_not_principal_with_allow_grants_all_but_the_listed():
    policy = rbp({"AWS": ALICE}, key="NotPrincipal")
    assert decide(user("bob"), "s3:GetObject", BUCKET, resource=policy).allowed
    assert not decide(user("alice"), "s3:GetObject", BUCKET, resource=policy).allowed


def test_anonymous_requests_need_a_public_resource_policy():
    assert decide(anonymous(), "s3:GetObject", BUCKET, resource=rbp("*")).allowed
    assert decide(anonymous(), "s3:GetObject", BUCKET, resource=rbp({"AWS": "*"})).allowed
    d = decide(anonymous(), "s3:GetObject", BUCKET, resource=rbp({"AWS": ACCT}))
    assert not d.allowed and d.blocked_by is T.RESOURCE
    assert not decide(anonymous(), "s3:GetObject", BUCKET).allowed


def test_service_principal_granted_by_resource_policy():
    policy = rbp({"Service": "cloudtrail.amazonaws.com"})
    assert decide(service(), "s3:PutObject", BUCKET, resource=policy).allowed
    assert not decide(service("config.amazonaws.com"), "s3:PutObject", BUCKET, resource=policy).allowed


# --- GetCallerIdentity ("GetCallerIdentity", STS API Reference) ---------------------

def test_get_caller_identity_needs_no_permission():
    assert decide(user(), "sts:GetCallerIdentity", identity=[pol(st("Deny"))], scp_levels=[[DENY]]).allowed


# --- fail closed (DESIGN.md: "An unknown condition operator denies") ------------------

@pytest.mark.parametrize("statement", [
    st(Condition={"StringEqualz": {"aws:username": "alice"}}),
    st(Condition={"NumericLessThan": {"s3:max-keys": "ten"}}),
    st(Condition={"IpAddress": {"aws:SourceIp": "not-an-ip"}}),
    st(Condition="nonsense"),
    {"Action": "*", "Resource": "*"},
])
def test_an_allow_that_cannot_be_understood_never_matches_a_deny_always_does(statement):
    assert not decide(user(), "s3:GetObject", BUCKET, identity=[pol(statement)]).allowed
    deny = {**statement, "Effect": "Deny"}
    d = decide(user(), "s3:GetObject", BUCKET, identity=[ALLOW, pol(deny, pid="broken")])
    assert d.kind is DecisionKind.EXPLICIT_DENY


def test_unparseable_document_fails_closed():
    from rampart.policy import compile_policy
    broken = compile_policy("{not json", "junk", T.IDENTITY)
    assert decide(user(), "s3:GetObject", identity=[ALLOW, broken]).kind is DecisionKind.EXPLICIT_DENY


def test_missing_keys_and_principal_derived_keys():
    policy = pol(st(Condition={"StringEquals": {"aws:PrincipalTag/team": "red", "aws:PrincipalAccount": ACCT}}))
    assert decide(user(tags={"Team": "red"}), "s3:GetObject", identity=[policy]).allowed
    d = decide(user(), "s3:GetObject", identity=[policy])
    assert d.missing_context_keys == ("aws:PrincipalTag/team",)


def test_compile_cache_by_content():
    from rampart.policy import compile_policy
    doc = {"Version": "2012-10-17", "Statement": [st()]}
    assert compile_policy(doc, "x", T.IDENTITY) is compile_policy(dict(doc), "x", T.IDENTITY)
    assert compile_policy(doc, "x", T.IDENTITY) is not compile_policy(doc, "y", T.IDENTITY)
