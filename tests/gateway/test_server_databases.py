"""The server on each database, with several worker processes sharing it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rampart.events.journal import read_journal
from tests.conftest import start_server
from tests.storage.pg import any_db_url, postgres_url  # noqa: F401 - fixtures


def test_two_workers_on_one_database_answer_and_record_every_call(any_db_url: str, tmp_path: Path) -> None:
    running = start_server(tmp_path / "data", args=["--database-url", any_db_url, "--workers", "2"])
    try:
        def ask(_: int) -> str:
            return running.client("sts").get_caller_identity()["Arn"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            arns = list(pool.map(ask, range(40)))
    finally:
        running.stop()
    assert set(arns) == {f"arn:aws:iam::{running.account_id}:root"}
    records = read_journal(tmp_path / "data" / "calls.jsonl")
    assert sum(r["operation"] == "GetCallerIdentity" for r in records) == 40
    assert len({r["request_id"] for r in records}) == len(records)
