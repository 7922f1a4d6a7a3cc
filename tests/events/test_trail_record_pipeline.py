"""The facts the pipeline stores for CloudTrail: expired sessions keep their caller, signing details."""

from __future__ import annotations

import datetime as dt

from rampart.accounts import root_principal
from rampart.auth.sigv4 import SigningKeyRecord
from rampart.config import Settings
from rampart.events.trail_record import build_event
from rampart.gateway import pipeline, registry
from rampart.gateway.context import Gateway
from rampart.services.sts.sessions import SessionSpec, principal_of
from tests.gateway.signing import signed_request
from tests.gateway.test_pipeline import CollectingBus

ACCOUNT = "123456789012"
KEY, SECRET, TOKEN = "ASIAEXPIREDEXPIRED01", "s" * 40, "session-token"
ROOT_KEY = "AKIAROOTROOTROOTROOT"
PAST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def _gateway() -> Gateway:
    spec = SessionSpec(ACCOUNT, "assumed-role", f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s", "AROAROLE:s",
                       f"arn:aws:iam::{ACCOUNT}:role/r", PAST - dt.timedelta(hours=1), PAST, name="s")
    root = SigningKeyRecord(ROOT_KEY, SECRET, ACCOUNT, root_principal(ACCOUNT))
    keys = {KEY: SigningKeyRecord(KEY, SECRET, ACCOUNT, principal_of(KEY, spec), TOKEN, PAST), ROOT_KEY: root}
    registry.load_services()
    return Gateway(settings=Settings(), lookup_key=keys.get, bus=CollectingBus())  # type: ignore[arg-type]


def test_expired_session_is_recorded_in_its_account() -> None:
    gateway = _gateway()
    response = pipeline.handle(signed_request("iam", "ListUsers", {}, KEY, SECRET, token=TOKEN), gateway)
    assert response.status == 403
    record = gateway.bus.records[-1]  # type: ignore[attr-defined]
    assert (record.error_code, record.account_id, record.access_key_id) == ("ExpiredToken", ACCOUNT, KEY)
    event = build_event(record)
    assert event is not None and event.account_id == ACCOUNT
    assert event.body["userIdentity"]["type"] == "AssumedRole"
    assert event.body["errorCode"] == "ExpiredToken"


def test_wrong_token_is_not_attributed() -> None:
    gateway = _gateway()
    pipeline.handle(signed_request("iam", "ListUsers", {}, KEY, SECRET, token="forged"), gateway)
    record = gateway.bus.records[-1]  # type: ignore[attr-defined]
    assert record.account_id is None and build_event(record) is None


def test_signing_facts_reach_the_record() -> None:
    gateway = _gateway()
    pipeline.handle(signed_request("sts", "GetCallerIdentity", {}, ROOT_KEY, SECRET), gateway)
    record = gateway.bus.records[-1]  # type: ignore[attr-defined]
    assert (record.auth_type, record.signature_version) == ("REST-HEADER", "AWS4-HMAC-SHA256")
    event = build_event(record)
    assert event is not None and event.body["userIdentity"]["type"] == "Root" and event.username == "root"
