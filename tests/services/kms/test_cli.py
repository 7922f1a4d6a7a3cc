"""The AWS CLI: `aws kms encrypt --plaintext fileb://...` and `aws kms decrypt` round trip."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Server


def test_cli_encrypt_decrypt_round_trip(server: Server, tmp_path: Path) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": server.access_key_id,
           "AWS_SECRET_ACCESS_KEY": server.secret_access_key, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    cli = [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint, "--output", "json"]

    def aws(*args: str) -> dict:
        done = subprocess.run([*cli, "kms", *args], env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    key = aws("create-key", "--description", "cli")["KeyMetadata"]["KeyId"]
    secret = os.urandom(300)
    (tmp_path / "plain.bin").write_bytes(secret)
    out = aws("encrypt", "--key-id", key, "--plaintext", f"fileb://{tmp_path / 'plain.bin'}",
              "--encryption-context", "purpose=cli-test")
    (tmp_path / "blob.bin").write_bytes(base64.b64decode(out["CiphertextBlob"]))
    back = aws("decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob.bin'}",
               "--encryption-context", "purpose=cli-test")
    assert base64.b64decode(back["Plaintext"]) == secret
    failed = subprocess.run([*cli, "kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob.bin'}"],
                            env=env, capture_output=True, text=True, check=False)
    assert failed.returncode != 0 and "InvalidCiphertextException" in failed.stderr
