"""Migration 0006 against the tables module, and an account's SCP / RCP levels as read from the database.

Runs on SQLite and, when RAMPART_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, inspect

from rampart.services.organizations.enforce import load_account_org
from rampart.services.organizations.orgs import FULL_ACCESS
from rampart.services.organizations.tables import (
    ALL_TABLES,
    org_accounts,
    org_attachments,
    org_organizations,
    org_policies,
    org_units,
)
from rampart.storage.db import Database
from rampart.storage.generations import create_generation
from rampart.storage.schema import accounts

NOW = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
MANAGEMENT, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
ORG, ROOT, OU, INNER = "o-abcdefghij", "r-ab12", "ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb"
DENY = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateUser","Resource":"*"}]}'


def test_migration_matches_the_tables_module(any_db: Database) -> None:
    inspector = inspect(any_db.engine)
    for table in ALL_TABLES:
        migrated = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name: c.nullable for c in table.columns}, table.name
        primary = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert primary == [c.name for c in table.primary_key.columns], table.name
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= indexes, table.name


def _org(db: Database, policy_types: str) -> None:
    """Management + member (under OU/INNER) + another account outside; one deny SCP on INNER."""
    with db.session() as session:
        for account in (MANAGEMENT, MEMBER, OTHER):
            session.execute(insert(accounts).values(account_id=account, name=f"a{account}", created_at=NOW))
            create_generation(session, account)
        session.execute(insert(org_organizations).values(
            org_id=ORG, management_account_id=MANAGEMENT, root_id=ROOT, feature_set="ALL",
            policy_types=policy_types, created_at=NOW))
        session.execute(insert(org_units), [
            {"ou_id": OU, "org_id": ORG, "parent_id": ROOT, "name": "outer"},
            {"ou_id": INNER, "org_id": ORG, "parent_id": OU, "name": "inner"}])
        session.execute(insert(org_accounts), [
            {"account_id": MANAGEMENT, "org_id": ORG, "parent_id": ROOT, "email": "m@x.y", "name": "m",
             "joined_method": "CREATED", "joined_at": NOW},
            {"account_id": MEMBER, "org_id": ORG, "parent_id": INNER, "email": "n@x.y", "name": "n",
             "joined_method": "INVITED", "joined_at": NOW}])
        rows = [{"org_id": ORG, "policy_id": pid, "name": name, "description": d, "policy_type": kind,
                 "content": content, "aws_managed": True} for kind, (pid, name, d, content) in FULL_ACCESS.items()]
        rows.append({"org_id": ORG, "policy_id": "p-deny0001", "name": "deny", "description": "",
                     "policy_type": "SERVICE_CONTROL_POLICY", "content": DENY, "aws_managed": False})
        session.execute(insert(org_policies), rows)
        targets = (ROOT, OU, INNER, MEMBER, MANAGEMENT)
        session.execute(insert(org_attachments), [
            *({"org_id": ORG, "policy_id": pid, "target_id": t} for t in targets
              for pid in ("p-FullAWSAccess", "p-RCPFullAWSAccess")),
            {"org_id": ORG, "policy_id": "p-deny0001", "target_id": INNER}])


@pytest.mark.parametrize(("types", "account", "expected"), [
    # (enabled types, account, (management?, SCP policy ids per level, RCP policy ids per level))
    ('["SERVICE_CONTROL_POLICY"]', MEMBER,
     (False, [["p-FullAWSAccess"], ["p-FullAWSAccess"], ["p-FullAWSAccess", "p-deny0001"], ["p-FullAWSAccess"]],
      [])),
    ('["SERVICE_CONTROL_POLICY","RESOURCE_CONTROL_POLICY"]', MEMBER,
     (False, [["p-FullAWSAccess"], ["p-FullAWSAccess"], ["p-FullAWSAccess", "p-deny0001"], ["p-FullAWSAccess"]],
      [["p-RCPFullAWSAccess"]] * 4)),
    ("[]", MEMBER, (False, [], [])),
    ('["SERVICE_CONTROL_POLICY","RESOURCE_CONTROL_POLICY"]', MANAGEMENT, (True, [], [])),
])
def test_levels_run_from_the_root_through_the_ous_to_the_account(
    any_db: Database, types: str, account: str, expected: tuple
) -> None:
    _org(any_db, types)
    with any_db.read() as conn:
        found = load_account_org(conn, account)
        assert load_account_org(conn, OTHER) is None
    assert found is not None and found.org_id == ORG
    management, scps, rcps = expected
    assert found.management is management
    assert [[p.policy_id for p in level] for level in found.scp_levels] == scps
    assert [[p.policy_id for p in level] for level in found.rcp_levels] == rcps
    assert found.paths == (f"{ORG}/{ROOT}/" if management else f"{ORG}/{ROOT}/{OU}/{INNER}/")
