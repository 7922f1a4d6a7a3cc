"""The call journal as CloudTrail's source: a record read back from its line builds the same event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from rampart.accounts import root_principal
from rampart.events.journal import CallJournal, record_from_line
from rampart.events.records import CallRecord
from rampart.events.trail_record import build_event
from rampart.gateway.service_calls import ServicePrincipalRef
from rampart.services.sts.sessions import principal_of
from tests.events.test_trail_record import ACCT, T0, USER, _record, _spec

SESSION_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSESSIONSECRET"

CASES: list[tuple[str, CallRecord]] = [
    ("iam user", _record(request_parameters={"UserName": "bob", "Tags": [{"Key": "k", "Value": "v"}]},
                         response_elements={"User": {"UserName": "bob", "CreateDate": T0}})),
    ("root", _record(principal=root_principal(ACCT))),
    ("assumed role, mfa, source identity", _record(principal=principal_of("ASIAEXAMPLE", _spec("assumed-role", mfa_authenticated=True, source_identity="me")))),
    ("web identity session", _record(principal=principal_of("ASIAEXAMPLE", _spec("assumed-role", federated_provider="accounts.google.com")))),
    ("federated user", _record(principal=principal_of("ASIAX", _spec("federated-user", issuer_id=USER.user_id)))),
    ("session token user", _record(principal=principal_of("ASIAEXAMPLE", _spec("user")))),
    ("root session", _record(principal=principal_of("ASIAEXAMPLE", _spec("root")))),
    ("service", _record("s3", "PutObject", principal=ServicePrincipalRef(
        "cloudtrail.amazonaws.com", "arn:aws:cloudtrail:eu-west-1:1:trail/t", ACCT), account_id=ACCT,
        request_parameters={"Bucket": "b1", "Key": "k", "Body": b"log bytes"}, resource_account=ACCT)),
    ("anonymous s3", _record("s3", "GetObject", principal=None, account_id=None, access_key_id=None,
                             request_parameters={"Bucket": "b1", "Key": "k"}, resource_account=ACCT)),
    ("web identity call", _record("sts", "AssumeRoleWithWebIdentity", principal=None, account_id=None,
                                  request_parameters={"RoleArn": f"arn:aws:iam::{ACCT}:role/r"},
                                  response_elements={"SubjectFromWebIdentityToken": "sub", "Audience": "aud",
                                                     "Provider": "accounts.google.com"})),
    ("s3 payload with a date", _record("s3", "PutBucketLifecycleConfiguration", account_id=ACCT, resource_account=ACCT,
        request_parameters={"Bucket": "b1", "LifecycleConfiguration": {"Rules": [
            {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Date": T0}}]}})),
    ("failed kms", _record("kms", "Encrypt", request_parameters={"KeyId": "alias/x", "Plaintext": b"secret"},
                           error_code="AccessDeniedException", error_message="no", http_status=400)),
]


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != "eventID"}


def _through_journal(record: CallRecord, path: Path) -> CallRecord:
    journal = CallJournal(path)
    journal([record])
    (line,) = path.read_bytes().splitlines()
    return record_from_line(line)


@pytest.mark.parametrize(("name", "record"), CASES, ids=[name for name, _ in CASES])
def test_a_journaled_record_builds_the_same_event(name: str, record: CallRecord, tmp_path: Path) -> None:
    direct = build_event(record)
    journaled = build_event(_through_journal(record, tmp_path / "calls.jsonl"))
    assert direct is not None and journaled is not None
    assert _without_id(journaled.body) == _without_id(direct.body)
    assert (journaled.username, journaled.resources, journaled.category) == (
        direct.username, direct.resources, direct.category)


def test_the_journal_keeps_no_session_secret(tmp_path: Path) -> None:
    principal = principal_of("ASIAEXAMPLE", _spec("assumed-role", session_policies=('{"Version": "2012-10-17"}',),
                                   extra_context={"token": SESSION_SECRET}))
    _through_journal(_record(principal=principal), tmp_path / "calls.jsonl")
    line = (tmp_path / "calls.jsonl").read_text()
    assert SESSION_SECRET not in line and "session_policies" not in line and "2012-10-17" not in line


@pytest.mark.parametrize("line", [b"[]", b'{"request_id": "x"}', b"not json", b'{"event_time": "yesterday"}'])
def test_a_line_that_is_not_a_record_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        record_from_line(line)


def test_event_time_keeps_its_microseconds(tmp_path: Path) -> None:
    record = _record()
    back = _through_journal(record, tmp_path / "calls.jsonl")
    assert back.event_time == T0 and back.event_time.tzinfo is not None
    assert orjson.loads(orjson.dumps(back.request_parameters)) == back.request_parameters
    assert isinstance(back.event_time, dt.datetime)
