"""The organization's life through boto3: create, accounts, OUs, invitations, removal, deletion."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from tests.services.iam.helpers import error_of, unique
from tests.services.organizations.conftest import Account, Organization


def test_create_organization_makes_the_caller_the_management_account(new_account) -> None:
    owner: Account = new_account()
    org = owner.client("organizations")
    made = org.create_organization()["Organization"]
    assert re.fullmatch(r"o-[a-z0-9]{10}", made["Id"])
    assert made["FeatureSet"] == "ALL"
    assert made["MasterAccountId"] == owner.account_id
    assert made["Arn"] == f"arn:aws:organizations::{owner.account_id}:organization/{made['Id']}"
    assert made["MasterAccountArn"] == f"arn:aws:organizations::{owner.account_id}:account/{made['Id']}/{owner.account_id}"
    assert org.describe_organization()["Organization"]["Id"] == made["Id"]
    roots = org.list_roots()["Roots"]
    assert len(roots) == 1 and re.fullmatch(r"r-[a-z0-9]{4}", roots[0]["Id"])
    assert roots[0]["Arn"] == f"arn:aws:organizations::{owner.account_id}:root/{made['Id']}/{roots[0]['Id']}"
    assert roots[0]["PolicyTypes"] == []
    accounts = org.list_accounts()["Accounts"]
    assert [a["Id"] for a in accounts] == [owner.account_id]
    with pytest.raises(ClientError) as caught:
        org.create_organization()
    assert error_of(caught)[0] == "AlreadyInOrganizationException"


def test_create_account_makes_a_real_member(organization: Organization) -> None:
    org = organization.org
    email = f"{unique('m')}@example.com"
    status = org.create_account(Email=email, AccountName="Workload")["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED" and status["Id"].startswith("car-")
    account_id = status["AccountId"]
    assert re.fullmatch(r"\d{12}", account_id)
    again = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert again["AccountId"] == account_id
    listed = org.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]
    assert [s["Id"] for s in listed] == [status["Id"]]
    assert org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"] == []
    account = org.describe_account(AccountId=account_id)["Account"]
    assert account["Email"] == email and account["Name"] == "Workload"
    assert account["JoinedMethod"] == "CREATED" and account["Status"] == "ACTIVE"
    ids = {a["Id"] for a in org.list_accounts()["Accounts"]}
    assert ids == {organization.management.account_id, account_id}
    under_root = org.list_accounts_for_parent(ParentId=organization.root_id)["Accounts"]
    assert account_id in {a["Id"] for a in under_root}
    # The same e-mail address twice fails as AWS reports it: in the request's status.
    failed = org.create_account(Email=email, AccountName="Again")["CreateAccountStatus"]
    assert failed["State"] == "FAILED" and failed["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    with pytest.raises(ClientError) as caught:
        org.describe_create_account_status(CreateAccountRequestId="car-" + "0" * 32)
    assert error_of(caught)[0] == "CreateAccountStatusNotFoundException"


def test_organizational_units_and_moving_accounts(organization: Organization, new_account) -> None:
    org, root = organization.org, organization.root_id
    member: Account = new_account()
    organization.invite(member)
    ou = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]
    assert re.fullmatch(rf"ou-{root[2:]}-[a-z0-9]{{8}}", ou["Id"])
    assert ou["Arn"].endswith(f":ou/{organization.org_id}/{ou['Id']}")
    child = org.create_organizational_unit(ParentId=ou["Id"], Name="Team")["OrganizationalUnit"]
    with pytest.raises(ClientError) as caught:
        org.create_organizational_unit(ParentId=root, Name="Prod")
    assert error_of(caught)[0] == "DuplicateOrganizationalUnitException"
    org.move_account(AccountId=member.account_id, SourceParentId=root, DestinationParentId=child["Id"])
    assert org.list_parents(ChildId=member.account_id)["Parents"] == [{"Id": child["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert org.list_parents(ChildId=ou["Id"])["Parents"] == [{"Id": root, "Type": "ROOT"}]
    kids = org.list_children(ParentId=ou["Id"], ChildType="ORGANIZATIONAL_UNIT")["Children"]
    assert kids == [{"Id": child["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert org.list_children(ParentId=child["Id"], ChildType="ACCOUNT")["Children"] == [
        {"Id": member.account_id, "Type": "ACCOUNT"}]
    names = {u["Name"] for u in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]}
    assert names == {"Prod"}
    with pytest.raises(ClientError) as caught:  # the account is not under the root any more
        org.move_account(AccountId=member.account_id, SourceParentId=root, DestinationParentId=ou["Id"])
    assert error_of(caught)[0] == "AccountNotFoundException"
    with pytest.raises(ClientError) as caught:
        org.delete_organizational_unit(OrganizationalUnitId=child["Id"])
    assert error_of(caught)[0] == "OrganizationalUnitNotEmptyException"
    renamed = org.update_organizational_unit(OrganizationalUnitId=child["Id"], Name="Squad")["OrganizationalUnit"]
    assert renamed["Name"] == "Squad"
    assert org.describe_organizational_unit(OrganizationalUnitId=child["Id"])["OrganizationalUnit"]["Name"] == "Squad"
    org.move_account(AccountId=member.account_id, SourceParentId=child["Id"], DestinationParentId=root)
    org.delete_organizational_unit(OrganizationalUnitId=child["Id"])
    with pytest.raises(ClientError) as caught:
        org.describe_organizational_unit(OrganizationalUnitId=child["Id"])
    assert error_of(caught)[0] == "OrganizationalUnitNotFoundException"
    with pytest.raises(ClientError) as caught:
        org.list_children(ParentId=child["Id"], ChildType="ACCOUNT")
    assert error_of(caught)[0] == "ParentNotFoundException"


def test_invitations_accept_decline_cancel(organization: Organization, new_account) -> None:
    org = organization.org
    first, second, third = new_account(), new_account(), new_account()
    handshake = org.invite_account_to_organization(Target={"Id": first.account_id, "Type": "ACCOUNT"},
                                                   Notes="welcome")["Handshake"]
    assert handshake["State"] == "OPEN" and handshake["Action"] == "INVITE"
    assert re.fullmatch(r"h-[a-z0-9]{10}", handshake["Id"])
    with pytest.raises(ClientError) as caught:
        org.invite_account_to_organization(Target={"Id": first.account_id, "Type": "ACCOUNT"})
    assert error_of(caught)[0] == "DuplicateHandshakeException"
    theirs = first.client("organizations")
    assert [h["Id"] for h in theirs.list_handshakes_for_account()["Handshakes"]] == [handshake["Id"]]
    # Only the invited account may accept; anyone else does not even see it.
    with pytest.raises(ClientError) as caught:
        second.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    assert error_of(caught)[0] == "HandshakeNotFoundException"
    accepted = theirs.accept_handshake(HandshakeId=handshake["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    joined = org.describe_account(AccountId=first.account_id)["Account"]
    assert joined["JoinedMethod"] == "INVITED"
    assert theirs.describe_organization()["Organization"]["Id"] == organization.org_id
    with pytest.raises(ClientError) as caught:
        theirs.accept_handshake(HandshakeId=handshake["Id"])
    assert error_of(caught)[0] == "HandshakeAlreadyInStateException"

    declined = org.invite_account_to_organization(Target={"Id": second.account_id, "Type": "ACCOUNT"})["Handshake"]
    assert second.client("organizations").decline_handshake(HandshakeId=declined["Id"])["Handshake"]["State"] == "DECLINED"
    with pytest.raises(ClientError) as caught:
        second.client("organizations").accept_handshake(HandshakeId=declined["Id"])
    assert error_of(caught)[0] == "InvalidHandshakeTransitionException"
    cancelled = org.invite_account_to_organization(Target={"Id": third.account_id, "Type": "ACCOUNT"})["Handshake"]
    assert org.cancel_handshake(HandshakeId=cancelled["Id"])["Handshake"]["State"] == "CANCELED"
    states = {h["Id"]: h["State"] for h in org.list_handshakes_for_organization()["Handshakes"]}
    assert states == {handshake["Id"]: "ACCEPTED", declined["Id"]: "DECLINED", cancelled["Id"]: "CANCELED"}
    ids = {a["Id"] for a in org.list_accounts()["Accounts"]}
    assert ids == {organization.management.account_id, first.account_id}


def test_an_account_in_another_organization_cannot_join(organization: Organization, new_account) -> None:
    other_owner: Account = new_account()
    other_owner.client("organizations").create_organization()
    handshake = organization.org.invite_account_to_organization(
        Target={"Id": other_owner.account_id, "Type": "ACCOUNT"})["Handshake"]
    with pytest.raises(ClientError) as caught:
        other_owner.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    assert caught.value.response["Error"]["Code"] == "HandshakeConstraintViolationException"
    assert caught.value.response["Reason"] == "ALREADY_IN_AN_ORGANIZATION"


def test_remove_leave_and_delete(organization: Organization, new_account) -> None:
    org = organization.org
    leaver, removed = new_account(), new_account()
    organization.invite(leaver)
    organization.invite(removed)
    with pytest.raises(ClientError) as caught:
        org.delete_organization()
    assert error_of(caught)[0] == "OrganizationNotEmptyException"
    leaver.client("organizations").leave_organization()
    with pytest.raises(ClientError) as caught:
        leaver.client("organizations").describe_organization()
    assert error_of(caught)[0] == "AWSOrganizationsNotInUseException"
    with pytest.raises(ClientError) as caught:
        org.leave_organization()
    assert error_of(caught)[0] == "MasterCannotLeaveOrganizationException"
    with pytest.raises(ClientError) as caught:
        org.remove_account_from_organization(AccountId=organization.management.account_id)
    assert error_of(caught)[0] == "ConstraintViolationException"
    org.remove_account_from_organization(AccountId=removed.account_id)
    with pytest.raises(ClientError) as caught:
        org.describe_account(AccountId=removed.account_id)
    assert error_of(caught)[0] == "AccountNotFoundException"
    org.delete_organization()
    with pytest.raises(ClientError) as caught:
        org.describe_organization()
    assert error_of(caught)[0] == "AWSOrganizationsNotInUseException"
    # The accounts live on and can start organizations of their own.
    assert removed.client("organizations").create_organization()["Organization"]["MasterAccountId"] == removed.account_id


def test_tags(organization: Organization, new_account) -> None:
    org = organization.org
    member: Account = new_account()
    organization.invite(member)
    org.tag_resource(ResourceId=member.account_id, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}])
    org.tag_resource(ResourceId=member.account_id, Tags=[{"Key": "env", "Value": "dev"}])
    org.untag_resource(ResourceId=member.account_id, TagKeys=["team"])
    assert org.list_tags_for_resource(ResourceId=member.account_id)["Tags"] == [{"Key": "env", "Value": "dev"}]
    ou = org.create_organizational_unit(ParentId=organization.root_id, Name="Tagged",
                                        Tags=[{"Key": "k", "Value": "v"}])["OrganizationalUnit"]
    assert org.list_tags_for_resource(ResourceId=ou["Id"])["Tags"] == [{"Key": "k", "Value": "v"}]
    with pytest.raises(ClientError) as caught:
        org.tag_resource(ResourceId="ou-zzzz-zzzzzzzz", Tags=[{"Key": "k", "Value": "v"}])
    assert error_of(caught)[0] == "TargetNotFoundException"
    with pytest.raises(ClientError) as caught:
        org.tag_resource(ResourceId=member.account_id, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert caught.value.response["Error"]["Code"] in ("ConstraintViolationException", "ValidationException")


def test_lists_page_with_next_token(organization: Organization) -> None:
    org = organization.org
    made = {org.create_account(Email=f"{unique('p')}@example.com", AccountName=f"page{i}")["CreateAccountStatus"]
            ["AccountId"] for i in range(3)}
    seen, token, pages = [], None, 0
    while True:
        page = org.list_accounts(MaxResults=2, **({"NextToken": token} if token else {}))
        seen.extend(a["Id"] for a in page["Accounts"])
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2 and len(seen) == len(set(seen)) == 4
    assert set(seen) == made | {organization.management.account_id}
    paginated = [a["Id"] for p in org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 1})
                 for a in p["Accounts"]]
    assert sorted(paginated) == sorted(seen)
    with pytest.raises(ClientError) as caught:
        org.list_accounts(NextToken="!!not-a-token!!")
    assert error_of(caught)[0] == "InvalidInputException"


def test_bad_input_changes_nothing(organization: Organization) -> None:
    org = organization.org
    with pytest.raises(ClientError) as caught:
        org.create_account(Email="not-an-address", AccountName="bad")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        org.create_account(Email=f"{unique('r')}@example.com", AccountName="bad", RoleName="no spaces allowed")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        org.list_policies(Filter="TAG_POLICY")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    assert [a["Id"] for a in org.list_accounts()["Accounts"]] == [organization.management.account_id]
    assert org.list_create_account_status()["CreateAccountStatuses"] == []
