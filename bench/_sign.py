"""Pre-signed query-protocol requests (sts:GetCallerIdentity by default), so the load generator only replays bytes.

Signing happens once, before the run, with botocore's own SigV4 signer: the
servers see exactly what the AWS SDKs send, and the generator spends no CPU
on cryptography while it measures.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

BODY = "Action=GetCallerIdentity&Version=2011-06-15"
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """One HTTP/1.1 request ready to replay: what wrk.format and raw sockets need."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: str

    def raw(self) -> bytes:
        """The request as wire bytes (keep-alive, explicit Content-Length)."""
        lines = [f"{self.method} {self.path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n" + self.body).encode("latin-1")


def generate_keys() -> tuple[str, str]:
    """A fresh root key pair in AWS's format: 'AKIA' + 16 chars, 40-char secret."""
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return key_id, secret


def presign(
    host: str,
    port: int,
    key_id: str,
    secret: str,
    count: int,
    region: str = "us-east-1",
    *,
    service: str = "sts",
    body: str = BODY,
) -> list[SignedRequest]:
    """``count`` distinct signed calls (GetCallerIdentity unless ``service``/``body`` say otherwise).

    Each carries its own ``amz-sdk-invocation-id`` header, so the signatures
    differ as they would from a real client fleet; they stay valid for the
    server's clock-skew window (15 minutes on AWS).
    """
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    authority = f"{host}:{port}"
    return [_sign_one(signer, authority, body) for _ in range(count)]


def _sign_one(signer: SigV4Auth, authority: str, body: str) -> SignedRequest:
    headers = {
        "Host": authority,
        "Content-Type": CONTENT_TYPE,
        "User-Agent": "rampart-bench/1.0 botocore",
        "amz-sdk-invocation-id": secrets.token_hex(16),
    }
    request = AWSRequest(method="POST", url=f"http://{authority}/", data=body, headers=headers)
    signer.add_auth(request)
    signed = [(name, str(value)) for name, value in request.headers.items()]
    signed.append(("Content-Length", str(len(body))))
    return SignedRequest(method="POST", path="/", headers=tuple(signed), body=body)
