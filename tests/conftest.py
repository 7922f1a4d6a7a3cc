"""Fixtures shared by the service tests: a real ``rampart serve`` on a free port."""

from __future__ import annotations

import json
import os
import secrets
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config

ROOT_ACCOUNT = "123456789012"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def random_root_keys() -> tuple[str, str]:
    """An access key pair in AWS's format."""
    key_id = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    secret = "".join(secrets.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    return key_id, secret


@dataclass
class Server:
    """A running server and the root credentials of its default account."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    account_id: str = ROOT_ACCOUNT
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def client(self, service: str, **overrides: Any) -> Any:
        """A boto3 client pointed at this server, signing as root unless overridden."""
        options: dict[str, Any] = {
            "endpoint_url": self.endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "config": Config(retries={"max_attempts": 1}),
        }
        options.update(overrides)
        return boto3.client(service, **options)

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the admin API under /_rampart/."""
        return httpx.request(method, f"{self.endpoint}/_rampart/{path}", timeout=10, **kwargs)

    def new_account(self, prefix: str = "tenant") -> tuple[str, dict[str, str]]:
        """A new account made the operator's way (``rampart account create``): its id, and its root
        keys as client keyword arguments."""
        made = subprocess.run(
            [sys.executable, "-m", "rampart", "account", "create", "--name", f"{prefix}-{secrets.token_hex(6)}",
             "--json", "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, check=True, env=self.env,
        )
        found = json.loads(made.stdout)
        return found["AccountId"], {"aws_access_key_id": found["AccessKeyId"],
                                    "aws_secret_access_key": found["SecretAccessKey"]}

    def stop(self) -> int:
        """Graceful shutdown (SIGTERM); returns the exit code."""
        self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def start_server(data_dir: Path, extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> Server:
    """Start ``rampart serve`` in a subprocess and wait until /_rampart/health answers."""
    port = free_port()
    key_id, secret = random_root_keys()
    env = dict(os.environ)
    env.update(
        {
            "RAMPART_ROOT_ACCESS_KEY_ID": key_id,
            "RAMPART_ROOT_SECRET_ACCESS_KEY": secret,
            "RAMPART_TEST_MODE": "1",
            # Tests run due jobs themselves (POST /_rampart/jobs/run, after moving the clock): a background
            # round racing the test's own would take work before the test's calls were recorded.
            "RAMPART_BACKGROUND_JOBS": "off",
        }
    )
    env.update(extra_env or {})
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    command = [sys.executable, "-m", "rampart", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command + (args or []), env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", env["RAMPART_ROOT_ACCESS_KEY_ID"],
                    env["RAMPART_ROOT_SECRET_ACCESS_KEY"], data_dir, process, log_path=log_path, env=env)
    _wait_healthy(server)
    return server


def _wait_healthy(server: Server, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_path.read_text() if server.log_path else ''}")
        try:
            if server.admin("GET", "health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not become healthy in time")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the whole test session (per xdist worker)."""
    running = start_server(tmp_path_factory.mktemp("rampart-data"))
    yield running
    running.stop()
