"""IAM server and signing certificates through a real boto3 client."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.conftest import Server
from tests.services.iam.helpers import error_of, unique


def make_cert(
    common_name: str,
    key: Any | None = None,
    issuer: tuple[x509.Certificate, Any] | None = None,
    *,
    days: int = 365,
    ca: bool = False,
) -> tuple[str, str, x509.Certificate, Any]:
    """(certificate PEM, key PEM, certificate, key): self-signed unless ``issuer`` is given."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, cert, key


# --- server certificates ------------------------------------------------------------------


def test_server_certificate_lifecycle(iam: Any, server: Server) -> None:
    ca_pem, _, ca_cert, ca_key = make_cert("Test CA", ca=True)
    body, key_pem, leaf, _ = make_cert("www.example.com", issuer=(ca_cert, ca_key), days=90)
    name = unique("cert")
    before = iam.get_account_summary()["SummaryMap"]["ServerCertificates"]
    meta = iam.upload_server_certificate(
        ServerCertificateName=name, CertificateBody=body, PrivateKey=key_pem, CertificateChain=ca_pem,
        Path="/cloudfront/", Tags=[{"Key": "env", "Value": "test"}],
    )["ServerCertificateMetadata"]
    assert meta["ServerCertificateId"].startswith("ASCA")
    assert iam.get_account_summary()["SummaryMap"]["ServerCertificates"] == before + 1
    assert meta["Arn"] == f"arn:aws:iam::{server.account_id}:server-certificate/cloudfront/{name}"
    assert meta["Expiration"].replace(microsecond=0) == leaf.not_valid_after_utc.replace(microsecond=0)
    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"] == body and got["CertificateChain"] == ca_pem
    assert got["Tags"] == [{"Key": "env", "Value": "test"}] and "PrivateKey" not in got
    listed = iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]
    assert name in [m["ServerCertificateName"] for m in listed]
    assert name not in [m["ServerCertificateName"] for m in iam.list_server_certificates(PathPrefix="/elb/")[
        "ServerCertificateMetadataList"]]
    with pytest.raises(ClientError) as excinfo:
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=key_pem)
    assert error_of(excinfo)[0] == "EntityAlreadyExists"

    new_name = unique("renamed")
    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=new_name, NewPath="/elb/")
    moved = iam.get_server_certificate(ServerCertificateName=new_name)["ServerCertificate"]["ServerCertificateMetadata"]
    assert moved["Arn"].endswith(f":server-certificate/elb/{new_name}")
    assert moved["ServerCertificateId"] == meta["ServerCertificateId"]
    with pytest.raises(ClientError) as excinfo:
        iam.get_server_certificate(ServerCertificateName=name)
    assert error_of(excinfo) == ("NoSuchEntity", f"The Server Certificate with name {name} cannot be found.")

    iam.tag_server_certificate(ServerCertificateName=new_name, Tags=[{"Key": "team", "Value": "sec"}])
    iam.untag_server_certificate(ServerCertificateName=new_name, TagKeys=["env"])
    assert iam.list_server_certificate_tags(ServerCertificateName=new_name)["Tags"] == [
        {"Key": "team", "Value": "sec"}
    ]
    iam.delete_server_certificate(ServerCertificateName=new_name)
    with pytest.raises(ClientError) as excinfo:
        iam.delete_server_certificate(ServerCertificateName=new_name)
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_private_key_is_stored_only_sealed(iam: Any, server: Server) -> None:
    body, key_pem, _, _ = make_cert("sealed.example.com", key=rsa.generate_private_key(65537, 2048))
    name = unique("sealed")
    iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=body, PrivateKey=key_pem)
    secret_line = key_pem.splitlines()[3]
    with sqlite3.connect(server.data_dir / "rampart.db") as db:
        rows = db.execute("SELECT data FROM iam_entities WHERE name = ?", (name,)).fetchall()
    assert rows and secret_line not in rows[0][0] and "PRIVATE KEY" not in rows[0][0]
    iam.delete_server_certificate(ServerCertificateName=name)


def test_bad_certificates_are_refused(iam: Any) -> None:
    body, key_pem, _, _ = make_cert("good.example.com")
    _, other_key, _, _ = make_cert("other.example.com")
    name = unique("bad")
    cases = [
        ({"CertificateBody": "not a certificate", "PrivateKey": key_pem}, "MalformedCertificate"),
        ({"CertificateBody": body, "PrivateKey": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"},
         "MalformedCertificate"),
        ({"CertificateBody": body, "PrivateKey": other_key}, "KeyPairMismatch"),
        ({"CertificateBody": body, "PrivateKey": key_pem, "CertificateChain": make_cert("Unrelated CA")[0]},
         "MalformedCertificate"),
    ]
    for extra, code in cases:
        with pytest.raises(ClientError) as excinfo:
            iam.upload_server_certificate(ServerCertificateName=name, **extra)
        assert error_of(excinfo)[0] == code, extra
    with pytest.raises(ClientError) as excinfo:
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody="x", PrivateKey=key_pem)
    assert error_of(excinfo) == (
        "MalformedCertificate", "Unable to parse certificate. Please ensure the certificate is in PEM format."
    )
    expired, expired_key, _, _ = make_cert("old.example.com", days=-1)
    with pytest.raises(ClientError) as excinfo:
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody=expired, PrivateKey=expired_key)
    assert error_of(excinfo)[0] == "MalformedCertificate"


# --- signing certificates -------------------------------------------------------------------


def test_signing_certificates(iam: Any) -> None:
    user = unique("signer")
    iam.create_user(UserName=user)
    first = iam.upload_signing_certificate(UserName=user, CertificateBody=make_cert("one")[0])["Certificate"]
    assert first["Status"] == "Active" and first["UserName"] == user and len(first["CertificateId"]) >= 24
    second = iam.upload_signing_certificate(UserName=user, CertificateBody=make_cert("two")[0])["Certificate"]
    with pytest.raises(ClientError) as excinfo:
        iam.upload_signing_certificate(UserName=user, CertificateBody=make_cert("three")[0])
    assert error_of(excinfo)[0] == "LimitExceeded"
    listed = iam.list_signing_certificates(UserName=user)["Certificates"]
    assert [c["CertificateId"] for c in listed] == [first["CertificateId"], second["CertificateId"]]

    iam.update_signing_certificate(UserName=user, CertificateId=first["CertificateId"], Status="Inactive")
    statuses = {c["CertificateId"]: c["Status"] for c in iam.list_signing_certificates(UserName=user)["Certificates"]}
    assert statuses == {first["CertificateId"]: "Inactive", second["CertificateId"]: "Active"}

    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=user)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must delete certificates first.")
    for cert in (first, second):
        iam.delete_signing_certificate(UserName=user, CertificateId=cert["CertificateId"])
    with pytest.raises(ClientError) as excinfo:
        iam.delete_signing_certificate(UserName=user, CertificateId=first["CertificateId"])
    assert error_of(excinfo)[0] == "NoSuchEntity"
    iam.delete_user(UserName=user)


def test_signing_certificate_errors(iam: Any) -> None:
    user = unique("signer")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as excinfo:
        iam.upload_signing_certificate(UserName=user, CertificateBody="garbage")
    assert error_of(excinfo)[0] == "MalformedCertificate"
    body = make_cert("dup")[0]
    iam.upload_signing_certificate(UserName=user, CertificateBody=body)
    with pytest.raises(ClientError) as excinfo:
        iam.upload_signing_certificate(UserName=user, CertificateBody=body)
    assert error_of(excinfo)[0] == "DuplicateCertificate"
    with pytest.raises(ClientError) as excinfo:
        iam.upload_signing_certificate(UserName="ghost-" + user, CertificateBody=make_cert("x")[0])
    assert error_of(excinfo)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as excinfo:
        iam.update_signing_certificate(UserName=user, CertificateId="A" * 28, Status="Active")
    assert error_of(excinfo)[0] == "NoSuchEntity"
