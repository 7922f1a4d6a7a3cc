"""Review findings on passwords, MFA, reports, providers, simulation and certificates (one test per defect)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.services.iam.credential_report import (
    CertificateFacts,
    PrincipalFacts,
    build_report,
)
from tests.conftest import Server, start_server
from tests.services.iam.helpers import allow, error_of, unique, user_with_keys
from tests.services.iam.test_certificates import make_cert


def test_oidc_url_with_a_broken_ipv6_host_is_invalid_input(iam: Any) -> None:
    """urlsplit raises on an unbalanced bracket: that must be IAM's InvalidInput, not a 500."""
    with pytest.raises(ClientError) as bad:
        iam.create_open_id_connect_provider(Url="https://[abc", ThumbprintList=[])
    assert error_of(bad)[0] == "InvalidInput"


def test_simulate_principal_policy_needs_the_entitys_own_arn(iam: Any, server: Server) -> None:
    """Authorization is asked about PolicySourceArn as given, so the handler must not answer for
    a same-named entity at another path (a caller allowed only on user/sandbox/* could read
    the decisions of any user)."""
    target = unique("target")
    iam.create_user(UserName=target)
    iam.put_user_policy(UserName=target, PolicyName="p", PolicyDocument=json.dumps(allow("s3:GetObject")))
    account = server.account_id
    sandbox = f"arn:aws:iam::{account}:user/sandbox/*"
    _, caller = user_with_keys(server, policy=allow(
        ["iam:SimulatePrincipalPolicy", "iam:GetContextKeysForPrincipalPolicy"], sandbox))
    forged = f"arn:aws:iam::{account}:user/sandbox/{target}"
    with pytest.raises(ClientError) as bad:
        caller.simulate_principal_policy(PolicySourceArn=forged, ActionNames=["s3:GetObject"])
    assert error_of(bad)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as bad_keys:
        caller.get_context_keys_for_principal_policy(PolicySourceArn=forged)
    assert error_of(bad_keys)[0] == "NoSuchEntity"
    # The real ARN still works (for a caller allowed on it).
    real = f"arn:aws:iam::{account}:user/{target}"
    result = iam.simulate_principal_policy(PolicySourceArn=real, ActionNames=["s3:GetObject"])
    assert result["EvaluationResults"][0]["EvalDecision"] == "allowed"


# --- credential report: signing certificates ----------------------------------------------------


def test_report_builder_shows_signing_certificates() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    later = when + dt.timedelta(days=1)
    root = PrincipalFacts("<root_account>", "arn:aws:iam::123456789012:root", when,
                          certificates=(CertificateFacts(True, when),))
    user = PrincipalFacts("u", "arn:aws:iam::123456789012:user/u", when,
                          certificates=(CertificateFacts(False, later), CertificateFacts(True, when)))
    rows = {r["user"]: r for r in csv.DictReader(io.StringIO(build_report(root, [user]).decode()))}
    r = rows["<root_account>"]
    assert (r["cert_1_active"], r["cert_1_last_rotated"], r["cert_2_active"], r["cert_2_last_rotated"]) == (
        "true", "2024-01-02T03:04:05+00:00", "false", "N/A")
    u = rows["u"]
    assert (u["cert_1_active"], u["cert_1_last_rotated"], u["cert_2_active"], u["cert_2_last_rotated"]) == (
        "true", "2024-01-02T03:04:05+00:00", "false", "2024-01-03T03:04:05+00:00")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: a credential report lives four hours per account."""
    running = start_server(Path(tmp_path_factory.mktemp("rampart-review-b")))
    yield running
    running.stop()


def test_credential_report_reflects_signing_certificates(fresh: Server) -> None:
    iam = fresh.client("iam")
    iam.create_user(UserName="carol")
    body, *_ = make_cert("carol")
    iam.upload_signing_certificate(UserName="carol", CertificateBody=body)
    iam.create_user(UserName="dave")
    iam.generate_credential_report()
    text = iam.get_credential_report()["Content"].decode()
    rows = {r["user"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["carol"]["cert_1_active"] == "true"
    assert rows["carol"]["cert_1_last_rotated"].endswith("+00:00")
    assert rows["carol"]["cert_2_active"] == "false" and rows["carol"]["cert_2_last_rotated"] == "N/A"
    assert rows["dave"]["cert_1_active"] == "false" and rows["dave"]["cert_1_last_rotated"] == "N/A"


def test_all_users_credential_listing_is_authorized_on_every_user(server: Server) -> None:
    """AllUsers lists every user's credentials, so a grant on one's own user ARN must not cover it."""
    own = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListServiceSpecificCredentials",
                                                  "Resource": f"arn:aws:iam::{server.account_id}:user/${{aws:username}}"}]}
    _, caller = user_with_keys(server, policy=own)
    assert caller.list_service_specific_credentials()["ServiceSpecificCredentials"] == []
    with pytest.raises(ClientError) as denied:
        caller.list_service_specific_credentials(AllUsers=True)
    code, message = error_of(denied)
    assert code == "AccessDenied" and ":user/* " in message
