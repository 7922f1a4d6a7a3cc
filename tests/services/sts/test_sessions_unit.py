"""The pure parts of sessions: sealed tokens, packed size, tags, durations, and migration 0005."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from rampart.aws.errors import ValidationError
from rampart.secrets import MasterKey
from rampart.services.iam import store
from rampart.services.sts.assume import (
    DURATION_OVER_CHAIN,
    DURATION_OVER_MAX,
    check_duration,
    check_packed_size,
    merge_tags,
    role_account,
)
from rampart.services.sts.errors import (
    InvalidAuthorizationMessage,
    InvalidParameterValue,
    PackedPolicyTooLarge,
)
from rampart.services.sts.messages import (
    decode_authorization_message,
    encode_authorization_message,
)
from rampart.services.sts.sessions import (
    InvalidSessionToken,
    SessionSpec,
    open_token,
    seal_token,
    session_context,
)
from rampart.services.sts.tables import sts_sessions
from rampart.storage.db import Database

NOW = dt.datetime(2026, 11, 29, 12, 0, 0, tzinfo=dt.UTC)
KEY = MasterKey(os.urandom(32))


def _spec(**overrides: Any) -> SessionSpec:
    values: dict[str, Any] = {
        "account_id": "111122223333", "kind": "assumed-role",
        "arn": "arn:aws:sts::111122223333:assumed-role/r/s", "user_id": "AROAEXAMPLE:s",
        "issuer_arn": "arn:aws:iam::111122223333:role/r", "issued_at": NOW, "expires_at": NOW + dt.timedelta(hours=1),
    }
    return SessionSpec(**{**values, **overrides})


def test_token_round_trip_keeps_every_field() -> None:
    spec = _spec(session_policies=('{"Statement": []}',), tags={"team": "blue"}, transitive_tag_keys=("team",),
                 mfa_authenticated=True, mfa_auth_time=NOW, source_identity="alice",
                 extra_context={"accounts.google.com:sub": "123"}, chained=True, name="s",
                 policy_arns=())
    token = seal_token(KEY, "ASIAEXAMPLE1", "secret", spec)
    assert open_token(KEY, "ASIAEXAMPLE1", token) == ("secret", spec)


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-6] + ("AAAAAA" if not t.endswith("AAAAAA") else "BBBBBB"),
    lambda t: t[:10],
    lambda t: "not base64 at all!",
    lambda t: "",
])
def test_altered_tokens_do_not_open(tamper: Any) -> None:
    token = seal_token(KEY, "ASIAEXAMPLE1", "secret", _spec())
    with pytest.raises(InvalidSessionToken):
        open_token(KEY, "ASIAEXAMPLE1", tamper(token))


def test_tokens_are_bound_to_key_id_and_master_key() -> None:
    token = seal_token(KEY, "ASIAEXAMPLE1", "secret", _spec())
    with pytest.raises(InvalidSessionToken):
        open_token(KEY, "ASIAEXAMPLE2", token)
    with pytest.raises(InvalidSessionToken):
        open_token(MasterKey(os.urandom(32)), "ASIAEXAMPLE1", token)


@pytest.mark.parametrize(("duration", "max_session", "chained", "expected"), [
    (None, 3600, False, 3600),
    (None, 43200, True, 3600),
    (900, 3600, False, 900),
    (43200, 43200, False, 43200),
    (3601, 3600, False, DURATION_OVER_MAX),
    (7200, 43200, True, DURATION_OVER_CHAIN),
    (3600, 43200, True, 3600),
])
def test_durations(duration: int | None, max_session: int, chained: bool, expected: int | str) -> None:
    role = store.Entity("111122223333", store.ROLE, "r", "/", "AROAX", "arn:aws:iam::111122223333:role/r",
                        NOW, {"MaxSessionDuration": max_session}, [])
    if isinstance(expected, str):
        with pytest.raises(ValidationError) as refused:
            check_duration(role, duration, chained=chained)
        assert refused.value.message == expected
    else:
        assert check_duration(role, duration, chained=chained) == expected


def test_packed_size_is_a_percentage_and_grows_with_content() -> None:
    assert check_packed_size(None, (), {}) is None
    small = check_packed_size('{"Version": "2012-10-17", "Statement": []}', (), {})
    tagged = check_packed_size(None, (), {f"k{i}": os.urandom(24).hex() for i in range(20)})
    assert small is not None and tagged is not None and 0 < small < tagged <= 100
    with pytest.raises(PackedPolicyTooLarge) as large:
        check_packed_size(None, (), {f"k{i}": os.urandom(64).hex() for i in range(50)})
    assert "% of allotted space" in large.value.message


@pytest.mark.parametrize(("inherited", "keys", "tags", "transitive", "expected"), [
    ({}, (), {"a": "1"}, (), ({"a": "1"}, ())),
    ({"p": "x", "q": "y"}, ("p",), {"a": "1"}, ("a",), ({"p": "x", "a": "1"}, ("p", "a"))),
    ({"p": "x"}, ("p",), {"P": "z"}, (), InvalidParameterValue),
    ({}, (), {"a": "1"}, ("b",), InvalidParameterValue),
])
def test_merge_tags(inherited: dict[str, str], keys: tuple[str, ...], tags: dict[str, str],
                    transitive: tuple[str, ...], expected: Any) -> None:
    if expected is InvalidParameterValue:
        with pytest.raises(InvalidParameterValue):
            merge_tags(inherited, keys, tags, transitive)
    else:
        assert merge_tags(inherited, keys, tags, transitive) == expected


@pytest.mark.parametrize(("arn", "account"), [
    ("arn:aws:iam::111122223333:role/r", "111122223333"),
    ("arn:aws:iam::111122223333:role/path/to/r", "111122223333"),
    ("arn:aws:iam::111122223333:user/r", None),
    ("arn:aws:iam::1111:role/r", None),
])
def test_role_account(arn: str, account: str | None) -> None:
    assert role_account(arn) == account


def test_session_context_keys() -> None:
    spec = _spec(mfa_authenticated=True, mfa_auth_time=NOW, source_identity="alice")
    context = session_context(spec, NOW + dt.timedelta(seconds=90))
    assert context["aws:TokenIssueTime"] == "2026-11-29T12:00:00Z"
    assert context["aws:MultiFactorAuthPresent"] is True and context["aws:MultiFactorAuthAge"] == "90"
    assert context["aws:SourceIdentity"] == "alice"
    plain = session_context(_spec(), NOW)
    assert plain["aws:MultiFactorAuthPresent"] is False and "aws:MultiFactorAuthAge" not in plain


def test_authorization_messages_bind_the_account() -> None:
    encoded = encode_authorization_message(KEY, "111122223333", {"allowed": False})
    assert decode_authorization_message(KEY, "111122223333", encoded) == '{"allowed":false}'
    with pytest.raises(InvalidAuthorizationMessage):
        decode_authorization_message(KEY, "444455556666", encoded)


def test_migration_matches_the_table(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.migrate()
    migrated = {c["name"]: c["nullable"] for c in inspect(db.engine).get_columns("sts_sessions")}
    assert migrated == {c.name: c.nullable for c in sts_sessions.columns}
    db.downgrade("0004")
    assert "sts_sessions" not in inspect(db.engine).get_table_names()
    db.dispose()
