"""Review findings on the IAM core (store, authz, users, roles, policies, ...) and the authorize step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rampart.aws.catalog import Requirement
from rampart.aws.errors import AccessDenied
from rampart.gateway import authorize as authorize_step
from rampart.gateway.call import Call, Caller
from rampart.accounts import PrincipalRef
from rampart.policy import PolicySet, Principal, PrincipalType
from rampart.services.iam.authz import SubjectCache

ACCOUNT = "123456789012"


def test_subject_cache_stays_bounded() -> None:
    """Any caller can make the authorizer describe a fresh resource per request (a new UserName each
    time, rights or not); stale entries were never removed, so the cache grew without limit."""
    cache = SubjectCache(ttl=60, max_entries=100)
    for n in range(1_000):
        cache.put((ACCOUNT, "resource", f"arn:aws:iam::{ACCOUNT}:user/u{n}"), n)
        assert len(cache._entries) <= 100
    assert cache.get((ACCOUNT, "resource", f"arn:aws:iam::{ACCOUNT}:user/u999")) == 999


def test_subject_cache_drops_stale_entries_first() -> None:
    cache = SubjectCache(ttl=-1, max_entries=10)  # every entry is stale at once
    for n in range(10):
        cache.put((ACCOUNT, "x", str(n)), n)
    cache.ttl = 60
    cache.put((ACCOUNT, "x", "fresh"), "kept")
    assert list(cache._entries) == [(ACCOUNT, "x", "fresh")]


@pytest.fixture
def nobody(monkeypatch: pytest.MonkeyPatch) -> Call:
    """A call by an IAM user without any policy."""
    alice = Principal(PrincipalType.USER, f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, username="alice")
    monkeypatch.setattr(authorize_step, "_subject_resolver", [lambda call: authorize_step.Subject(alice, PolicySet())])
    principal = PrincipalRef(ACCOUNT, "user", "alice", alice.arn, "AIDAEXAMPLE")
    caller = Caller(account_id=ACCOUNT, principal=principal)
    return Call(gateway=None, received_at=dt.datetime.now(dt.UTC), service="iam", operation="GetUser", caller=caller)  # type: ignore[arg-type]


@pytest.mark.parametrize("needed", [[], [Requirement("iam:GetUser", ())]])
def test_authorize_fails_closed_when_there_is_nothing_to_ask(
    nobody: Call, monkeypatch: pytest.MonkeyPatch, needed: list[Any]
) -> None:
    """No requirement, or a requirement without resources, asked the engine nothing and allowed the call."""
    monkeypatch.setattr(authorize_step, "_requirements", lambda call, params: needed)
    with pytest.raises(AccessDenied):
        authorize_step.authorize(nobody, {})
    assert not nobody.authorized
