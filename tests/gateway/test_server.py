"""End to end through a real ``rampart serve``: boto3 and the AWS CLI as clients."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import botocore.exceptions
import httpx
import pytest

from rampart.events.journal import read_journal
from tests.conftest import Server, start_server


def _error(excinfo: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_get_caller_identity_as_root(server: Server) -> None:
    identity = server.client("sts").get_caller_identity()
    assert identity["Account"] == server.account_id
    assert identity["Arn"] == f"arn:aws:iam::{server.account_id}:root"
    assert identity["UserId"] == server.account_id
    assert identity["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == identity["ResponseMetadata"]["RequestId"]


def test_aws_cli_get_caller_identity(server: Server) -> None:
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID=server.access_key_id,
        AWS_SECRET_ACCESS_KEY=server.secret_access_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    aws = Path(sys.executable).with_name("aws")
    out = subprocess.run([str(aws), "sts", "get-caller-identity"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"] == f"arn:aws:iam::{server.account_id}:root"


def test_wrong_secret_is_rejected(server: Server) -> None:
    client = server.client("sts", aws_secret_access_key="x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.get_caller_identity()
    assert _error(excinfo) == ("SignatureDoesNotMatch", 403)


def test_unknown_access_key_is_rejected(server: Server) -> None:
    client = server.client("sts", aws_access_key_id="AKIAAAAAAAAAAAAAAAAA")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.get_caller_identity()
    assert _error(excinfo) == ("InvalidClientTokenId", 403)


def test_json_services_spell_auth_failures_their_way(server: Server) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        server.client("kms", aws_secret_access_key="x" * 40).list_keys()
    assert _error(excinfo) == ("InvalidSignatureException", 400)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        server.client("kms", aws_access_key_id="AKIAAAAAAAAAAAAAAAAA").list_keys()
    assert _error(excinfo) == ("UnrecognizedClientException", 400)


@pytest.mark.parametrize(
    ("service", "call", "kwargs"),
    [
        ("iam", "list_delegation_requests", {}),
        ("logs", "describe_log_groups", {}),
        ("cloudwatch", "list_dashboards", {}),
        ("guardduty", "list_detectors", {}),
        ("route53", "list_hosted_zones", {}),
        ("s3", "get_bucket_accelerate_configuration", {"Bucket": "rampart-no-such-bucket"}),
        ("ec2", "describe_regions", {}),
    ],
)
def test_unimplemented_operation_answers_501_in_its_protocol(server: Server, service: str, call: str, kwargs: dict) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        getattr(server.client(service), call)(**kwargs)
    code, status = _error(excinfo)
    assert (code, status) == ("NotImplemented", 501)
    assert "not implemented" in excinfo.value.response["Error"]["Message"]


def test_s3_answers_carry_s3_request_id_headers(server: Server) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        server.client("s3").get_bucket_accelerate_configuration(Bucket="rampart-no-such-bucket")
    headers = excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-request-id"] and headers["x-amz-id-2"]


def test_unsigned_request_to_sts_needs_authentication(server: Server) -> None:
    response = httpx.post(server.endpoint + "/", data={"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert response.status_code == 403
    assert b"MissingAuthenticationToken" in response.content


def test_garbage_never_answers_500(server: Server) -> None:
    bodies = [b"\xff\xfe\x00", b"{not json", b"<a><b></a>", b"Action=%ZZ"]
    headers = [
        {"x-amz-target": "TrentService.ListKeys", "content-type": "application/x-amz-json-1.1"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"smithy-protocol": "rpc-v2-cbor"},
        {},
    ]
    for body in bodies:
        for header in headers:
            response = httpx.post(server.endpoint + "/", content=body, headers=header)
            assert 400 <= response.status_code < 500, (body, header, response.text)


def test_header_section_over_the_limit_is_refused(server: Server) -> None:
    response = httpx.get(server.endpoint + "/", headers={"x-big": "a" * 20000})
    assert response.status_code == 400
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in response.content


def test_health(server: Server) -> None:
    response = server.admin("GET", "health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_every_call_is_journaled_with_secrets_redacted_and_flushed_on_shutdown(tmp_path: Path) -> None:
    running = start_server(tmp_path / "data")
    try:
        sts = running.client("sts")
        for _ in range(20):
            sts.get_caller_identity()
        iam = running.client("iam")
        with pytest.raises(botocore.exceptions.ClientError):
            iam.create_login_profile(UserName="alice", Password="Sup3r-Secret-Passw0rd!")
    finally:
        # uvicorn re-raises SIGTERM after its graceful shutdown completes
        assert running.stop() in (0, -signal.SIGTERM)
    records = read_journal(tmp_path / "data" / "calls.jsonl")
    assert [r["operation"] for r in records].count("GetCallerIdentity") == 20
    login = next(r for r in records if r["operation"] == "CreateLoginProfile")
    assert login["request_parameters"] == {"UserName": "alice", "Password": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    assert login["error_code"] == "NoSuchEntity" and login["principal_arn"].endswith(":root")
    assert b"Sup3r-Secret" not in (tmp_path / "data" / "calls.jsonl").read_bytes()
    assert b"Sup3r-Secret" not in (tmp_path / "data" / "server.log").read_bytes()


def test_body_over_the_limit_is_refused(tmp_path: Path) -> None:
    running = start_server(tmp_path / "data", extra_env={"RAMPART_MAX_BODY_BYTES": "1024"})
    try:
        response = httpx.post(
            running.endpoint + "/",
            content=b"Action=GetCallerIdentity&Version=2011-06-15&Pad=" + b"a" * 4096,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
    finally:
        running.stop()


def test_due_jobs_run_on_demand_in_test_mode(server: Server) -> None:
    response = server.admin("POST", "jobs/run")
    assert response.status_code == 200
    assert isinstance(response.json()["ran"], list)
