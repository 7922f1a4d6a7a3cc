"""With two worker processes, an SCP attached through one governs the member on both well inside the cache TTL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.services.organizations.enforce import CACHE_TTL_SECONDS
from tests.conftest import Server, start_server
from tests.services.iam.helpers import unique
from tests.services.iam.test_workers import SETTLE, outcomes
from tests.services.organizations.conftest import create_account, deny

assert SETTLE < CACHE_TTL_SECONDS  # only the generation watch can make the other worker notice this soon


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("rampart-org-workers")), args=["--workers", "2"])
    yield running
    running.stop()


def test_scp_attach_and_detach_reach_every_worker(two_workers: Server) -> None:
    management, member = create_account(two_workers), create_account(two_workers)
    org = management.client("organizations")
    org.create_organization()
    root = org.list_roots()["Roots"][0]["Id"]
    handshake = org.invite_account_to_organization(Target={"Id": member.account_id, "Type": "ACCOUNT"})["Handshake"]
    member.client("organizations").accept_handshake(HandshakeId=handshake["Id"])
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    _, keys = member.admin_user()
    admin = member.client("iam", **keys)
    time.sleep(SETTLE)
    assert outcomes(admin.list_users) == {"ok"}  # both workers have the member's levels cached now
    policy = org.create_policy(Name=unique("p"), Description="d", Type="SERVICE_CONTROL_POLICY",
                               Content=json.dumps(deny("iam:ListUsers")))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=member.account_id)
    time.sleep(SETTLE)
    assert outcomes(admin.list_users) == {"AccessDenied"}
    org.detach_policy(PolicyId=policy, TargetId=member.account_id)
    time.sleep(SETTLE)
    assert outcomes(admin.list_users) == {"ok"}
