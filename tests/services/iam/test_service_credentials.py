"""IAM service-specific credentials through a real boto3 client."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.services.iam.helpers import error_of, unique, user_with_keys


def test_codecommit_credentials(iam: Any, server: Server) -> None:
    user = unique("git")
    iam.create_user(UserName=user)
    first = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")[
        "ServiceSpecificCredential"
    ]
    assert first["ServiceSpecificCredentialId"].startswith("ACCA") and first["Status"] == "Active"
    assert first["ServiceUserName"] == f"{user}-at-{server.account_id}" and len(first["ServicePassword"]) == 44
    second = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")[
        "ServiceSpecificCredential"
    ]
    assert second["ServiceUserName"] == f"{user}+1-at-{server.account_id}"
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    assert error_of(excinfo)[0] == "LimitExceeded"
    iam.create_service_specific_credential(UserName=user, ServiceName="cassandra.amazonaws.com")

    with sqlite3.connect(server.data_dir / "rampart.db") as db:
        stored = " ".join(r[0] for r in db.execute("SELECT data FROM iam_entities WHERE kind = 'service-credential'"))
    assert first["ServicePassword"] not in stored and "scrypt$" in stored

    listed = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
    assert len(listed) == 3 and all("ServicePassword" not in c for c in listed)
    only = iam.list_service_specific_credentials(UserName=user, ServiceName="cassandra.amazonaws.com")
    assert [c["ServiceName"] for c in only["ServiceSpecificCredentials"]] == ["cassandra.amazonaws.com"]
    everyone = iam.list_service_specific_credentials(AllUsers=True)["ServiceSpecificCredentials"]
    assert {c["ServiceSpecificCredentialId"] for c in listed} <= {c["ServiceSpecificCredentialId"] for c in everyone}

    cred_id = first["ServiceSpecificCredentialId"]
    iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id, Status="Inactive")
    reset = iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id)[
        "ServiceSpecificCredential"
    ]
    assert reset["ServicePassword"] != first["ServicePassword"] and reset["Status"] == "Inactive"

    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=user)
    assert error_of(excinfo)[0] == "DeleteConflict"
    for cred in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]:
        cred_id_now = cred["ServiceSpecificCredentialId"]
        iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id_now)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id)
    assert error_of(excinfo)[0] == "NoSuchEntity"
    iam.delete_user(UserName=user)


def test_bedrock_api_key_and_errors(iam: Any, server: Server) -> None:
    user = unique("bedrock")
    iam.create_user(UserName=user)
    key = iam.create_service_specific_credential(
        UserName=user, ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30
    )["ServiceSpecificCredential"]
    assert key["ServiceCredentialAlias"].endswith(f"-at-{server.account_id}")
    assert key["ServiceCredentialSecret"].startswith("ABSK") and "ServicePassword" not in key
    assert (key["ExpirationDate"] - key["CreateDate"]).days == 30
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(UserName=user, ServiceName="s3.amazonaws.com")
    assert error_of(excinfo)[0] == "NotSupportedService"
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(UserName="ghost-" + user, ServiceName="codecommit.amazonaws.com")
    assert error_of(excinfo)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as excinfo:
        iam.create_service_specific_credential(
            UserName=user, ServiceName="codecommit.amazonaws.com", CredentialAgeDays=3
        )
    assert error_of(excinfo)[0] == "InvalidInput"
    key_id = key["ServiceSpecificCredentialId"]
    iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=key_id)


def test_user_manages_own_credentials(server: Server) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:*ServiceSpecificCredential*", "Resource": "*"}],
    }
    name, client = user_with_keys(server, policy=policy)
    made = client.create_service_specific_credential(UserName=name, ServiceName="codecommit.amazonaws.com")
    mine = client.list_service_specific_credentials()["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in mine] == [
        made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    ]
