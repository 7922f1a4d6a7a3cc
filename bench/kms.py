"""KMS Encrypt and Decrypt requests/s through the whole server, as an IAM user (key policy + IAM evaluated).

Usage (from the repository root, in the venv):

    python bench/kms.py                        # 10 s per operation, 64 connections
    python bench/kms.py --rounds 3 --seconds 5

One Rampart server; root creates a symmetric key (default key policy, so
the engine delegates to IAM) and an IAM user whose inline policy allows
kms:Encrypt and kms:Decrypt on that key only. Requests are pre-signed JSON
1.1 calls (``TrentService.Encrypt`` with 256 bytes of plaintext and an
encryption context; ``TrentService.Decrypt`` of a blob made beforehand, with
KeyId, the path clients that know their key take; without it KMS's requirement
resolver finds the key inside the blob, one more read), replayed by wrk (or the
asyncio client). Pre-checks: every request of each pool answers 200, a Decrypt
answer's plaintext is the original, and the same Decrypt with a different
encryption context is refused (InvalidCiphertextException), as is Encrypt
under a second key the user's policy does not name (AccessDeniedException).
Prints figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _load
import _servers
import _sign

ACCOUNT = "123456789012"
CONTEXT = {"purpose": "bench", "tenant": "t-42"}


def _client(service: str, endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def setup(endpoint: str, root_id: str, root_secret: str) -> tuple[str, str, str, str]:
    """A key, a second key, and a user allowed to use the first; returns (key arn, other arn, user key, secret)."""
    kms, iam = _client("kms", endpoint, root_id, root_secret), _client("iam", endpoint, root_id, root_secret)
    key = kms.create_key(Description="bench")["KeyMetadata"]["Arn"]
    other = kms.create_key(Description="bench other")["KeyMetadata"]["Arn"]
    iam.create_user(UserName="bench-kms")
    iam.put_user_policy(UserName="bench-kms", PolicyName="use-key", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": key}]}))
    made = iam.create_access_key(UserName="bench-kms")["AccessKey"]
    return key, other, made["AccessKeyId"], made["SecretAccessKey"]


def presign_json(host: str, port: int, key: str, secret: str, target: str, body: dict[str, Any],
                 count: int) -> list[bytes]:
    """``count`` distinct signed KMS JSON calls (raw HTTP/1.1 bytes)."""
    signer = SigV4Auth(Credentials(key, secret), "kms", "us-east-1")
    authority, text = f"{host}:{port}", json.dumps(body)
    out = []
    for _ in range(count):
        headers = {"Host": authority, "Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": f"TrentService.{target}", "User-Agent": "rampart-bench/1.0 botocore",
                   "amz-sdk-invocation-id": secrets.token_hex(16)}
        request = AWSRequest(method="POST", url=f"http://{authority}/", data=text, headers=headers)
        signer.add_auth(request)
        signed = [(name, str(value)) for name, value in request.headers.items()]
        signed.append(("Content-Length", str(len(text))))
        out.append(_sign.SignedRequest("POST", "/", tuple(signed), text).raw())
    return out


def pre_check(endpoint: str, key: str, other: str, user: tuple[str, str]) -> bytes:
    """The user's round trip works, a wrong context and an unnamed key are refused; returns a blob."""
    kms = _client("kms", endpoint, *user)
    plaintext = os.urandom(256)
    blob = kms.encrypt(KeyId=key, Plaintext=plaintext, EncryptionContext=CONTEXT)["CiphertextBlob"]
    if kms.decrypt(CiphertextBlob=blob, KeyId=key, EncryptionContext=CONTEXT)["Plaintext"] != plaintext:
        raise SystemExit("pre-check failed: Decrypt did not give the plaintext back")
    for label, attempt, expected in (
        ("Decrypt with another context", lambda: kms.decrypt(CiphertextBlob=blob, KeyId=key,
                                                                  EncryptionContext={"x": "y"}),
         "InvalidCiphertextException"),
        ("Encrypt under an unnamed key", lambda: kms.encrypt(KeyId=other, Plaintext=b"x"), "AccessDeniedException"),
    ):
        try:
            attempt()
        except ClientError as refused:
            code = refused.response["Error"]["Code"]
            print(f"pre-check: {label} -> {code}")
            if code != expected:
                raise SystemExit(f"pre-check failed: expected {expected}") from refused
            continue
        raise SystemExit(f"pre-check failed: {label} was accepted")
    return blob


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    args = _parser().parse_args(argv)
    use_wrk = _load.have_wrk() and args.generator != "asyncio"
    print(f"load generator: {'wrk' if use_wrk else 'asyncio'}; {args.connections} connections; "
          f"{args.rounds} round(s) of {args.warmup:g} s warm-up + {args.seconds:g} s per operation; "
          f"cpus {os.cpu_count()}")
    results: dict[str, list[_load.LoadResult]] = {"Encrypt": [], "Decrypt": []}
    with tempfile.TemporaryDirectory(prefix="rampart-kms-") as tmp:
        root_id, root_secret = _sign.generate_keys()
        spec = _servers.rampart_spec(_servers.free_port(), args.workers, Path(tmp) / "data", root_id, root_secret)
        with _servers.running(spec, Path(tmp)) as server:
            endpoint = f"http://{server.host}:{server.port}"
            key, other, user_key, user_secret = setup(endpoint, root_id, root_secret)
            blob = pre_check(endpoint, key, other, (user_key, user_secret))
            b64 = base64.b64encode
            pools = {
                "Encrypt": presign_json(server.host, server.port, user_key, user_secret, "Encrypt",
                                        {"KeyId": key, "Plaintext": b64(os.urandom(256)).decode(),
                                         "EncryptionContext": CONTEXT}, args.pool),
                "Decrypt": presign_json(server.host, server.port, user_key, user_secret, "Decrypt",
                                        {"CiphertextBlob": b64(blob).decode(), "KeyId": key,
                                         "EncryptionContext": CONTEXT},
                                        args.pool),
            }
            for number in range(1, args.rounds + 1):
                for name, raw in pools.items():
                    results[name].append(_servers.measure(server, raw, seconds=args.seconds, warmup=args.warmup,
                                                           connections=args.connections, use_wrk=use_wrk,
                                                           label=f"{name} round {number}"))
    print()
    for name, runs in results.items():
        rps = _load.median([r.rps for r in runs])
        cpu = _load.median([r.server_cpu_us for r in runs if r.server_cpu_us is not None])
        print(f"{name:8s} {rps:,.0f} req/s (median of {len(runs)}), {cpu:.0f} server CPU-µs/req")


def _parser() -> argparse.ArgumentParser:
    parser = _load.add_load_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--workers", type=int, default=1)
    return parser


if __name__ == "__main__":
    main()
