"""The pipeline without sockets: handle(HttpRequest) -> HttpResponse, and its call records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.auth.sigv4 import SigningKeyRecord
from rampart.config import Settings
from rampart.events.records import CallRecord
from rampart.gateway import pipeline, registry
from rampart.gateway.context import Gateway
from rampart.gateway.http import HttpRequest
from tests.gateway.signing import signed_request

ACCOUNT = "123456789012"
ROOT_KEY = ("AKIAROOTROOTROOTROOT", "r" * 40)
USER_KEY = ("AKIAUSERUSERUSERUSER", "u" * 40)


@dataclass(frozen=True)
class FakePrincipal:
    account_id: str
    kind: str
    arn: str
    user_id: str


class CollectingBus:
    """Stands in for the EventBus: keeps records synchronously."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def publish(self, record: CallRecord) -> None:
        self.records.append(record)


def _gateway() -> Gateway:
    keys = {
        ROOT_KEY[0]: SigningKeyRecord(ROOT_KEY[0], ROOT_KEY[1], ACCOUNT, FakePrincipal(ACCOUNT, "root", f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)),
        USER_KEY[0]: SigningKeyRecord(USER_KEY[0], USER_KEY[1], ACCOUNT, FakePrincipal(ACCOUNT, "user", f"arn:aws:iam::{ACCOUNT}:user/alice", "AIDAALICE")),
    }
    registry.load_services()
    return Gateway(settings=Settings(), lookup_key=keys.get, bus=CollectingBus())  # type: ignore[arg-type]


@pytest.fixture
def gateway() -> Gateway:
    return _gateway()


def test_get_caller_identity_end_to_end(gateway: Gateway) -> None:
    response = pipeline.handle(signed_request("sts", "GetCallerIdentity", {}, *ROOT_KEY), gateway)
    assert response.status == 200
    assert b"<Arn>arn:aws:iam::123456789012:root</Arn>" in response.body
    record = gateway.bus.records[-1]
    assert (record.service, record.operation, record.http_status, record.error_code) == ("sts", "GetCallerIdentity", 200, None)
    assert record.principal_arn.endswith(":root") and record.access_key_id == ROOT_KEY[0]
    assert response.header("x-amzn-RequestId") == record.request_id


def test_non_root_is_denied_until_iam_policies_exist(gateway: Gateway) -> None:
    response = pipeline.handle(signed_request("iam", "ListUsers", {}, *USER_KEY), gateway)
    assert response.status == 403
    assert b"<Code>AccessDenied</Code>" in response.body
    assert b"is not authorized to perform: iam:ListUsers" in response.body
    assert gateway.bus.records[-1].error_code == "AccessDenied"


def test_access_denied_is_spelled_per_protocol(gateway: Gateway) -> None:
    response = pipeline.handle(signed_request("kms", "ListKeys", {}, *USER_KEY), gateway)
    assert response.status == 400  # the JSON services' common errors: AccessDeniedException, HTTP 400
    assert b"AccessDeniedException" in response.body


def test_any_caller_may_ask_who_it_is(gateway: Gateway) -> None:
    response = pipeline.handle(signed_request("sts", "GetCallerIdentity", {}, *USER_KEY), gateway)
    assert response.status == 200 and b"user/alice" in response.body


def test_dispatch_without_authorization_is_a_bug_not_an_allow(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "authorize", lambda call, params: None)
    response = pipeline.handle(signed_request("sts", "GetCallerIdentity", {}, *ROOT_KEY), gateway)
    assert response.status == 500
    assert b"Traceback" not in response.body
    assert gateway.bus.records[-1].error_code == "InternalFailure"


def test_validation_failure_is_recorded(gateway: Gateway) -> None:
    response = pipeline.handle(signed_request("iam", "CreateUser", {"UserName": "bad name!"}, *ROOT_KEY), gateway)
    assert response.status == 400 and b"<Code>ValidationError</Code>" in response.body
    assert gateway.bus.records[-1].error_code == "ValidationError"


def test_failed_authentication_is_recorded(gateway: Gateway) -> None:
    response = pipeline.handle(signed_request("sts", "GetCallerIdentity", {}, ROOT_KEY[0], "x" * 40), gateway)
    assert response.status == 403
    record = gateway.bus.records[-1]
    assert record.error_code == "SignatureDoesNotMatch" and record.operation == "GetCallerIdentity"


_METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"])
_HEADER_SETS = st.sampled_from(
    [
        {},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.Encrypt"},
        {"content-type": "application/x-amz-json-1.0", "x-amz-target": "GraniteServiceVersion20100801.ListMetrics"},
        {"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor"},
        {"content-type": "application/xml"},
        {"authorization": "AWS4-HMAC-SHA256 Credential=AKIAROOTROOTROOTROOT/20260101/us-east-1/sts/aws4_request"},
        {"authorization": "garbage", "x-amz-date": "nope"},
        {"host": "bucket.localhost:4566"},
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=_METHODS,
    path=st.sampled_from(["/", "/bucket", "/bucket/key", "/service/GraniteServiceVersion20100801/operation/ListMetrics", "/2013-04-01/hostedzone", "/detector", "/%ff%fe", "/a/../b"]) | st.text(max_size=30).map(lambda s: "/" + s),
    query=st.sampled_from(["", "Action=GetCallerIdentity&Version=2011-06-15", "Action=Nope", "X-Amz-Credential=x&X-Amz-Signature=y", "uploads", "%zz"]),
    headers=_HEADER_SETS,
    body=st.binary(max_size=200) | st.sampled_from([b"{}", b"<x/>", b"Action=ListUsers&Version=2010-05-08", b"\xa0"]),
)
def test_fuzzed_requests_never_answer_500(gateway: Gateway, method: str, path: str, query: str, headers: dict, body: bytes) -> None:
    request = HttpRequest(method=method, path=path, query=query, headers=dict(headers), body=body)
    response = pipeline.handle(request, gateway)
    assert response.status < 500 or response.status == 501, response.body
    assert gateway.bus.records[-1].http_status == response.status


def test_request_ids_are_distinct_version_4_uuids_across_threads() -> None:
    import threading
    import uuid

    from rampart.gateway.call import new_request_id

    ids: list[str] = []

    def draw() -> None:
        ids.extend(new_request_id() for _ in range(2000))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == len(ids) == 8000
    for value in ids[:: 97]:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_signatures_are_checked_against_the_time_the_request_arrived(gateway: Gateway) -> None:
    """A long upload is judged by when its head arrived, not by when its last byte did."""
    signed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=40)
    with mock.patch("botocore.auth.get_current_datetime", return_value=signed_at):
        request = signed_request("sts", "GetCallerIdentity", {}, *ROOT_KEY)
    late = pipeline.handle(request, gateway)
    assert late.status == 403 and b"Signature expired" in late.body
    request.arrived_at = signed_at.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=5)
    assert pipeline.handle(request, gateway).status == 200
