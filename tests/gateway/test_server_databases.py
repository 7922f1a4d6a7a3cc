"""The server on each database, with several worker processes sharing it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rampart.events.journal import read_journal
from tests.conftest import start_server
from tests.services.cloudtrail.delivery_support import (
    all_records,
    created_users,
    deliver,
    event_ids,
    make_bucket,
)
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


def test_a_trail_delivers_every_call_once_on_each_database(any_db_url: str, tmp_path: Path) -> None:
    running = start_server(tmp_path / "data", args=["--database-url", any_db_url])
    try:
        s3, iam = running.client("s3"), running.client("iam")
        bucket = make_bucket(s3, running.account_id)
        running.client("cloudtrail").create_trail(Name="everything", S3BucketName=bucket)
        running.client("cloudtrail").start_logging(Name="everything")
        names = [f"db-user{number}" for number in range(12)]
        for name in names:
            iam.create_user(UserName=name)
        deliver(running)
        records = all_records(s3, bucket)
    finally:
        running.stop()
    assert created_users(records) == sorted(names)
    assert len(set(event_ids(records))) == len(records)
