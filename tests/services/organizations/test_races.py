"""Check-then-write races on PostgreSQL: concurrent Organizations writes give one winner and AWS's errors.

SQLite serializes writers (BEGIN IMMEDIATE); on PostgreSQL (READ COMMITTED)
two requests could both pass a "does it exist yet?" check. Without a lock
that ends in duplicate names nobody can tell apart, or in a unique-key
violation answered as a 500. Skipped without ``RAMPART_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rampart.services.organizations.store import WRITE_LOCK
from rampart.storage.db import Database
from tests.conftest import Server, start_server
from tests.services.iam.helpers import unique
from tests.services.organizations.conftest import create_account
from tests.services.sts.test_races import at_once, codes_of
from tests.storage.pg import postgres_url  # noqa: F401 - fixture

CONCURRENT = 8
SCP = "SERVICE_CONTROL_POLICY"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture
def pg_server(postgres_url: str, tmp_path: Path) -> Iterator[Server]:  # noqa: F811 - the fixture above
    """A two-worker server on a fresh PostgreSQL schema (``rampart account create`` reaches it by the env)."""
    running = start_server(tmp_path / "data", extra_env={"RAMPART_DATABASE_URL": postgres_url},
                           args=["--workers", "2"])
    yield running
    running.stop()


def racing(make: Callable[[], Any], call: Callable[[Any], Any]) -> list[str]:
    """``call`` on CONCURRENT clients from ``make``, released together: "OK" or each error code."""
    clients = [make() for _ in range(CONCURRENT)]
    return codes_of(at_once([lambda c=c: call(c) for c in clients]))


def one_winner(outcome: list[str], loser: str) -> None:
    assert outcome.count("OK") == 1 and set(outcome) == {"OK", loser}, outcome


def test_concurrent_writes_have_one_winner(pg_server: Server) -> None:
    management = create_account(pg_server)
    def orgs() -> Any:
        return management.client("organizations")

    one_winner(racing(orgs, lambda c: c.create_organization(FeatureSet="ALL")), "AlreadyInOrganizationException")
    root = orgs().list_roots()["Roots"][0]["Id"]
    one_winner(racing(orgs, lambda c: c.enable_policy_type(RootId=root, PolicyType=SCP)),
               "PolicyTypeAlreadyEnabledException")
    name = unique("pol")
    one_winner(racing(orgs, lambda c: c.create_policy(Name=name, Description="d", Type=SCP, Content=ALLOW_ALL)),
               "DuplicatePolicyException")
    policy = orgs().list_policies(Filter=SCP)["Policies"]
    assert [p["Name"] for p in policy].count(name) == 1
    policy_id = next(p["Id"] for p in policy if p["Name"] == name)
    one_winner(racing(orgs, lambda c: c.attach_policy(PolicyId=policy_id, TargetId=root)),
               "DuplicatePolicyAttachmentException")
    ou = unique("ou")
    one_winner(racing(orgs, lambda c: c.create_organizational_unit(ParentId=root, Name=ou)),
               "DuplicateOrganizationalUnitException")


def test_a_handshake_accepted_concurrently_joins_once(pg_server: Server) -> None:
    management, member = create_account(pg_server), create_account(pg_server)
    org = management.client("organizations")
    org.create_organization(FeatureSet="ALL")
    handshake = org.invite_account_to_organization(Target={"Id": member.account_id, "Type": "ACCOUNT"})["Handshake"]
    outcome = racing(lambda: member.client("organizations"), lambda c: c.accept_handshake(HandshakeId=handshake["Id"]))
    one_winner(outcome, "HandshakeAlreadyInStateException")
    assert [a["Id"] for a in org.list_accounts()["Accounts"]].count(member.account_id) == 1


def test_writes_wait_for_the_organizations_lock(pg_server: Server) -> None:
    """Deterministic: while the lock is held a write waits, then runs."""
    management = create_account(pg_server)
    database = Database(pg_server.env["RAMPART_DATABASE_URL"])
    done = threading.Event()
    result: list[str] = []

    def create() -> None:
        result.extend(codes_of(at_once([lambda: management.client("organizations").create_organization()])))
        done.set()

    try:
        with database.session() as holder:
            database.lock(holder, WRITE_LOCK)
            worker = threading.Thread(target=create)
            worker.start()
            assert not done.wait(2.0), f"CreateOrganization ran while the lock was held: {result}"
        worker.join(timeout=30)
    finally:
        database.dispose()
    assert result == ["OK"]
