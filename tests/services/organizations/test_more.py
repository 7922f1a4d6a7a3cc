"""CloseAccount, delegated administrators, trusted service access and EnableAllFeatures, through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import error_of, unique
from tests.services.organizations.conftest import Account, Organization, create_account


def _error(call, *args, **kwargs) -> tuple[str, str, str | None]:
    """(code, message, Reason) of the call's ClientError."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    code, message = error_of(caught)
    return code, message, caught.value.response.get("Reason")


def _member(organization: Organization) -> tuple[str, dict[str, str]]:
    """A created member account's id, and keys of a role session in it (via OrganizationAccountAccessRole)."""
    made = organization.org.create_account(Email=f"{unique('m')}@example.com",
                                           AccountName=unique("acct"))["CreateAccountStatus"]
    account_id = made["AccountId"]
    _, admin = organization.management.admin_user()
    sts = organization.management.client("sts", **admin)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
                            RoleSessionName="tt")["Credentials"]
    return account_id, {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                        "aws_session_token": creds["SessionToken"]}


def test_close_account_refuses_the_accounts_principals(organization: Organization, server) -> None:
    org = organization.org
    account_id, session = _member(organization)
    iam = organization.management.client("iam", **session)
    user = unique("u")
    iam.create_user(UserName=user)  # the member works before closure
    org.close_account(AccountId=account_id)
    account = org.describe_account(AccountId=account_id)["Account"]
    assert account["Status"] == "PENDING_CLOSURE"
    code, _, _ = _error(iam.get_user, UserName=user)
    assert code == "AccessDenied"
    code, _, _ = _error(organization.management.client("s3", **session).list_buckets)
    assert code == "AccessDenied"
    # Other accounts cannot reach into it either (a role of the closed account can no longer be assumed).
    _, admin = organization.management.admin_user()
    code, _, _ = _error(organization.management.client("sts", **admin).assume_role,
                        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="xx")
    assert code == "AccessDenied"
    assert server.admin("POST", "clock/advance", json={"seconds": 120}).status_code == 200
    listed = {a["Id"]: a["Status"] for a in org.list_accounts()["Accounts"]}
    assert listed[account_id] == "SUSPENDED"
    assert listed[organization.management.account_id] == "ACTIVE"
    assert _error(org.close_account, AccountId=account_id)[0] == "AccountAlreadyClosedException"
    # A closed account stays: removing it would hand its credentials back.
    code, _, reason = _error(org.remove_account_from_organization, AccountId=account_id)
    assert (code, reason) == ("ConstraintViolationException", "ACCOUNT_CANNOT_LEAVE_ORGANIZATION")
    # The management account still works.
    assert organization.management.client("iam").list_users()["Users"] is not None


def test_close_account_refuses_root_keys_of_an_invited_account(organization: Organization, server) -> None:
    member = create_account(server)
    organization.invite(member)
    member.client("iam").list_users()
    organization.org.close_account(AccountId=member.account_id)
    assert _error(member.client("iam").list_users)[0] == "AccessDenied"


def test_close_account_errors(organization: Organization, new_account) -> None:
    org = organization.org
    code, _, reason = _error(org.close_account, AccountId=organization.management.account_id)
    assert (code, reason) == ("ConstraintViolationException", "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
    assert _error(org.close_account, AccountId="999999999999")[0] == "AccountNotFoundException"
    outsider: Account = new_account()
    assert _error(outsider.client("organizations").close_account,
                  AccountId=organization.management.account_id)[0] == "AWSOrganizationsNotInUseException"
    member_id, session = _member(organization)
    member_org = organization.management.client("organizations", **session)
    assert _error(member_org.close_account, AccountId=member_id)[0] == "AccessDeniedException"


def test_close_account_quota(organization: Organization) -> None:
    """With fewer than 100 members the quota is its floor: 10 closures in 30 days."""
    org = organization.org
    ids = [org.create_account(Email=f"{unique('q')}@example.com", AccountName=unique("q"))
           ["CreateAccountStatus"]["AccountId"] for _ in range(11)]
    for account_id in ids[:10]:
        org.close_account(AccountId=account_id)
    code, _, reason = _error(org.close_account, AccountId=ids[10])
    assert (code, reason) == ("ConstraintViolationException", "CLOSE_ACCOUNT_QUOTA_EXCEEDED")
    statuses = {a["Id"]: a["Status"] for a in org.list_accounts()["Accounts"]}
    assert statuses[ids[10]] == "ACTIVE"


def test_service_access_and_delegated_administrators(organization: Organization) -> None:
    org = organization.org
    member_id, _session = _member(organization)
    assert org.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []
    code, _, reason = _error(org.register_delegated_administrator, AccountId=member_id,
                             ServicePrincipal="guardduty.amazonaws.com")
    assert (code, reason) == ("ConstraintViolationException", "SERVICE_ACCESS_NOT_ENABLED")
    org.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
    org.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")  # idempotent, as in AWS
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [e["ServicePrincipal"] for e in enabled] == ["guardduty.amazonaws.com"]
    org.register_delegated_administrator(AccountId=member_id, ServicePrincipal="guardduty.amazonaws.com")
    assert _error(org.register_delegated_administrator, AccountId=member_id,
                  ServicePrincipal="guardduty.amazonaws.com")[0] == "AccountAlreadyRegisteredException"
    code, _, reason = _error(org.register_delegated_administrator, AccountId=organization.management.account_id,
                             ServicePrincipal="guardduty.amazonaws.com")
    assert (code, reason) == ("ConstraintViolationException", "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR")
    code, _, reason = _error(org.register_delegated_administrator, AccountId=member_id, ServicePrincipal="not-a-principal")
    assert (code, reason) == ("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")
    admins = org.list_delegated_administrators()["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [member_id] and "DelegationEnabledDate" in admins[0]
    assert org.list_delegated_administrators(ServicePrincipal="ssm.amazonaws.com")["DelegatedAdministrators"] == []
    services = org.list_delegated_services_for_account(AccountId=member_id)["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == ["guardduty.amazonaws.com"]
    code, _, reason = _error(org.remove_account_from_organization, AccountId=member_id)
    assert (code, reason) == ("ConstraintViolationException", "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG")
    # Disabling trusted access deregisters the service's administrators.
    org.disable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
    assert org.list_delegated_administrators()["DelegatedAdministrators"] == []
    assert _error(org.list_delegated_services_for_account,
                  AccountId=member_id)[0] == "AccountNotRegisteredException"
    assert _error(org.deregister_delegated_administrator, AccountId=member_id,
                  ServicePrincipal="guardduty.amazonaws.com")[0] == "AccountNotRegisteredException"


def test_organizations_delegated_administrator_may_read_but_not_write(organization: Organization) -> None:
    org = organization.org
    member_id, session = _member(organization)
    delegate = organization.management.client("organizations", **session)
    assert _error(delegate.list_accounts)[0] == "AccessDeniedException"
    org.register_delegated_administrator(AccountId=member_id, ServicePrincipal="organizations.amazonaws.com")
    ids = {a["Id"] for a in delegate.list_accounts()["Accounts"]}
    assert ids == {organization.management.account_id, member_id}
    assert delegate.list_roots()["Roots"][0]["Id"] == organization.root_id
    assert delegate.describe_account(AccountId=member_id)["Account"]["Id"] == member_id
    assert [a["Id"] for a in delegate.list_delegated_administrators()["DelegatedAdministrators"]] == [member_id]
    assert _error(delegate.create_organizational_unit, ParentId=organization.root_id,
                  Name=unique("ou"))[0] == "AccessDeniedException"
    assert _error(delegate.close_account, AccountId=member_id)[0] == "AccessDeniedException"
    org.deregister_delegated_administrator(AccountId=member_id, ServicePrincipal="organizations.amazonaws.com")
    assert _error(delegate.list_accounts)[0] == "AccessDeniedException"


def test_enable_all_features(new_account) -> None:
    owner: Account = new_account()
    org = owner.client("organizations")
    org.create_organization(FeatureSet="CONSOLIDATED_BILLING")
    root_id = org.list_roots()["Roots"][0]["Id"]
    code, _, reason = _error(org.enable_policy_type, RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    assert (code, reason) == ("ConstraintViolationException", "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")
    handshake = org.enable_all_features()["Handshake"]
    assert handshake["Action"] == "ENABLE_ALL_FEATURES" and handshake["State"] == "ACCEPTED"
    assert org.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    code, _, reason = _error(org.enable_all_features)
    assert (code, reason) == ("HandshakeConstraintViolationException", "ORGANIZATION_ALREADY_HAS_ALL_FEATURES")
