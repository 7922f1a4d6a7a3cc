"""Account aliases through boto3: one per account, unique across the server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server


def second_account_client(server: Server) -> Any:
    """Root of a freshly created account on the same server (created with the CLI)."""
    _, keys = server.new_account("alias")
    return server.client("iam", **keys)


def alias_name() -> str:
    return f"rampart-{uuid.uuid4().hex[:12]}"


def test_alias_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    first, second = alias_name(), alias_name()
    iam.create_account_alias(AccountAlias=first)
    assert iam.list_account_aliases()["AccountAliases"] == [first]
    iam.create_account_alias(AccountAlias=first)  # the same alias again changes nothing
    iam.create_account_alias(AccountAlias=second)  # one alias per account: the new one replaces the old
    assert iam.list_account_aliases()["AccountAliases"] == [second]

    with pytest.raises(ClientError) as wrong:
        iam.delete_account_alias(AccountAlias=first)
    assert wrong.value.response["Error"]["Code"] == "NoSuchEntity"
    iam.delete_account_alias(AccountAlias=second)
    listed = iam.list_account_aliases()
    assert listed["AccountAliases"] == [] and listed["IsTruncated"] is False


def test_alias_is_unique_across_accounts(server: Server) -> None:
    iam = server.client("iam")
    other = second_account_client(server)
    alias = alias_name()
    iam.create_account_alias(AccountAlias=alias)
    try:
        with pytest.raises(ClientError) as taken:
            other.create_account_alias(AccountAlias=alias)
        assert taken.value.response["Error"]["Code"] == "EntityAlreadyExists"
        assert other.list_account_aliases()["AccountAliases"] == []
    finally:
        iam.delete_account_alias(AccountAlias=alias)
    other.create_account_alias(AccountAlias=alias)  # free again once deleted
    assert other.list_account_aliases()["AccountAliases"] == [alias]


@pytest.mark.parametrize("alias", ["ab", "Upper-case", "-leading", "trailing-", "double--dash", "under_score"])
def test_alias_pattern_is_enforced(server: Server, alias: str) -> None:
    unchecked = server.client("iam", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as bad:
        unchecked.create_account_alias(AccountAlias=alias)
    assert bad.value.response["Error"]["Code"] == "ValidationError"
