"""Large objects: the AWS CLI's ``s3 cp`` both ways, ``s3 presign``, presigned PUT, flat server memory."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.config import Config

from tests.conftest import Server

MIB = 1024 * 1024


def _aws(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """The AWS CLI as root; SigV4 for presigning too (Rampart does not speak SigV2)."""
    config = server.data_dir / "aws-cli-config"
    config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key_id, AWS_SECRET_ACCESS_KEY=server.secret_access_key,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.pop("AWS_PROFILE", None)
    return subprocess.run(["aws", "--endpoint-url", server.endpoint, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def _random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes (in 8 MiB blocks); returns their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(8 * MIB, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(8 * MIB):
            digest.update(block)
    return digest.hexdigest()


def test_cli_cp_200_mb_up_and_down(server: Server, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "up.bin"
    expected = _random_file(source, 200 * MIB)
    up = _aws(server, "s3", "cp", str(source), f"s3://{bucket}/cli/up.bin")
    assert up.returncode == 0, up.stderr
    target = tmp_path / "down.bin"
    down = _aws(server, "s3", "cp", f"s3://{bucket}/cli/up.bin", str(target))
    assert down.returncode == 0, down.stderr
    assert _sha256_file(target) == expected
    listed = _aws(server, "s3", "ls", f"s3://{bucket}/cli/")
    assert "up.bin" in listed.stdout and str(200 * MIB) in listed.stdout


def test_cli_presign_then_get(server: Server, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="p/shared.txt", Body=b"presigned content")
    presigned = _aws(server, "s3", "presign", f"s3://{bucket}/p/shared.txt", "--expires-in", "300")
    assert presigned.returncode == 0, presigned.stderr
    answer = httpx.get(presigned.stdout.strip(), timeout=30)
    assert answer.status_code == 200 and answer.content == b"presigned content"
    tampered = presigned.stdout.strip().replace("shared.txt", "other.txt")
    assert httpx.get(tampered, timeout=30).status_code == 403


def test_boto3_presigned_put_and_get(server: Server, bucket: str) -> None:
    s3 = server.client("s3", config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pp"}, ExpiresIn=60)
    body = os.urandom(3 * MIB)  # spooled on the server
    assert httpx.put(put_url, content=body, timeout=30).status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pp"}, ExpiresIn=60)
    answer = httpx.get(get_url, timeout=30)
    assert answer.status_code == 200 and answer.content == body
    assert httpx.get(get_url.replace("Signature=", "Signature=0"), timeout=30).status_code == 403


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_memory_stays_flat_for_a_300_mb_object(server: Server, s3: Any, bucket: str, tmp_path: Path) -> None:
    """A 300 MB single PUT and GET move the server's peak RSS by well under the object's size."""
    s3.put_object(Bucket=bucket, Key="warm", Body=os.urandom(2 * MIB))  # the spool/stream paths warmed up
    s3.get_object(Bucket=bucket, Key="warm")["Body"].read()
    before = _peak_rss_kib(server.process.pid)
    source = tmp_path / "300.bin"
    expected = _random_file(source, 300 * MIB)
    with open(source, "rb") as body:
        s3.put_object(Bucket=bucket, Key="huge", Body=body)
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key="huge")["Body"].iter_chunks(MIB):
        digest.update(chunk)
    assert digest.hexdigest() == expected
    growth_mib = (_peak_rss_kib(server.process.pid) - before) / 1024
    assert growth_mib < 100, f"server peak RSS grew {growth_mib:.0f} MiB for a 300 MB object"
