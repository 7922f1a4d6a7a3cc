"""The rampart command line, driven through click's CliRunner."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rampart.cli import main as cli
from rampart.config import Settings

ENV_KEYS = {"RAMPART_ROOT_ACCESS_KEY_ID", "RAMPART_ROOT_SECRET_ACCESS_KEY", "RAMPART_MASTER_KEY",
            "RAMPART_DATABASE_URL", "RAMPART_DATA_DIR", "RAMPART_TEST_MODE", "RAMPART_ACCOUNT_ID",
            "RAMPART_HOST", "RAMPART_PORT", "RAMPART_WORKERS"}


@pytest.fixture(autouse=True)
def clean_env() -> Iterator[None]:
    """Neither the developer's environment nor `serve`'s exports leak in or out."""
    saved = dict(os.environ)
    for name in ENV_KEYS:
        os.environ.pop(name, None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace uvicorn.run: record its arguments and the settings workers would see."""
    import uvicorn

    calls: list[dict[str, Any]] = []

    def fake_run(app: str, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs, "settings": Settings.from_env()})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
    return result


def test_serve_prints_root_keys_only_on_first_start(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    data = tmp_path / "data"
    first = invoke("serve", "--data-dir", str(data), "--port", "4600", "--host", "0.0.0.0")
    assert first.exit_code == 0, first.output
    creds = json.loads((data / "root-credentials.json").read_text())
    assert f"export AWS_ACCESS_KEY_ID={creds['AccessKeyId']}" in first.output
    assert f"export AWS_SECRET_ACCESS_KEY={creds['SecretAccessKey']}" in first.output
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:4600" in first.output
    second = invoke("serve", "--data-dir", str(data), "--port", "4600")
    assert second.exit_code == 0 and creds["SecretAccessKey"] not in second.output
    assert "AWS_ACCESS_KEY_ID" not in second.output


def test_serve_hands_settings_to_uvicorn_workers(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    result = invoke("serve", "--port", "4601", "--workers", "3", "--test-mode",
                    env={"RAMPART_DATA_DIR": str(tmp_path / "d"), "RAMPART_HOST": "127.0.0.2"})
    assert result.exit_code == 0, result.output
    (call,) = uvicorn_calls
    assert (call["app"], call["factory"]) == ("rampart.gateway.app:create_app", True)
    assert (call["host"], call["port"], call["workers"]) == ("127.0.0.2", 4601, 3)
    worker = call["settings"]  # what Settings.from_env() gives inside a worker
    assert worker.data_dir == (tmp_path / "d").resolve() and worker.test_mode
    assert (worker.port, worker.workers, worker.host) == (4601, 3, "127.0.0.2")


def test_serve_with_env_root_keys(tmp_path: Path, uvicorn_calls: list[dict[str, Any]]) -> None:
    env = {"RAMPART_ROOT_ACCESS_KEY_ID": "AKIAENVPROVIDED12345",
           "RAMPART_ROOT_SECRET_ACCESS_KEY": "s" * 40, "RAMPART_ACCOUNT_ID": "000000000007"}
    result = invoke("serve", "--data-dir", str(tmp_path), env=env)
    assert "Created account 000000000007" in result.output
    assert uvicorn_calls[0]["settings"].root_access_key_id == "AKIAENVPROVIDED12345"


def test_serve_reports_bad_settings_without_traceback(
    tmp_path: Path, uvicorn_calls: list[dict[str, Any]]
) -> None:
    result = CliRunner().invoke(cli.main, ["serve", "--data-dir", str(tmp_path)],
                                env={"RAMPART_ROOT_ACCESS_KEY_ID": "AKIAENVPROVIDED12345"})
    assert result.exit_code == 1 and "Error: InvalidInput" in result.output
    assert not uvicorn_calls


def test_wrong_master_key_is_reported(tmp_path: Path, uvicorn_calls: list[dict[str, Any]]) -> None:
    invoke("serve", "--data-dir", str(tmp_path))
    result = CliRunner().invoke(cli.main, ["serve", "--data-dir", str(tmp_path)],
                                env={"RAMPART_MASTER_KEY": "a different passphrase"})
    assert result.exit_code == 1 and "another master key" in result.output


def test_account_create_and_list(tmp_path: Path) -> None:
    data = str(tmp_path)
    created = invoke("account", "create", "--name", "dev", "--data-dir", data)
    assert created.exit_code == 0, created.output
    account_id = re.search(r"Created account (\d{12}) \(dev\)", created.output).group(1)
    assert re.search(r"AWS_ACCESS_KEY_ID=AKIA[A-Z2-7]{16}", created.output)
    assert re.search(r"AWS_SECRET_ACCESS_KEY=[A-Za-z0-9+/]{40}", created.output)
    as_json = json.loads(invoke("account", "create", "--name", "prod", "--json",
                                env={"RAMPART_DATA_DIR": data}).output)
    listing = invoke("account", "list", "--data-dir", data).output.splitlines()
    assert listing[0].split() == ["ACCOUNT", "ID", "NAME", "CREATED"]
    assert [line.split()[:2] for line in listing[1:]] == [[account_id, "dev"], [as_json["AccountId"], "prod"]]
    listed = json.loads(invoke("account", "list", "--json", "--data-dir", data).output)
    assert [a["Name"] for a in listed] == ["dev", "prod"]


@pytest.mark.parametrize(("name", "error"), [("dev", "DuplicateAccountException"), ("", "ValidationError")])
def test_account_create_errors(tmp_path: Path, name: str, error: str) -> None:
    invoke("account", "create", "--name", "dev", "--data-dir", str(tmp_path))
    result = invoke("account", "create", "--name", name, "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and f"Error: {error}" in result.output


@pytest.mark.postgres
def test_account_commands_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    invoke("account", "create", "--name", "pg", "--database-url", postgres_url, "--data-dir", str(tmp_path))
    listing = invoke("account", "list", env={"RAMPART_DATABASE_URL": postgres_url,
                                             "RAMPART_DATA_DIR": str(tmp_path)})
    assert "pg" in listing.output
    assert not (tmp_path / "rampart.db").exists()


def test_help_lists_commands() -> None:
    output = invoke("--help").output
    assert "serve" in output and "account" in output
