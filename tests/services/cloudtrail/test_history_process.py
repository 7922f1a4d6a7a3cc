"""The history process through the server: replaced when it dies, outlives nothing, loses and repeats nothing."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Server, start_server


def _history_processes(data_dir: Path) -> dict[int, int]:
    """{pid: parent pid} of the running history processes of the server on ``data_dir``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"rampart.services.cloudtrail.history_process" in command and str(data_dir).encode() in command:
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.05)


def _created_users(server: Server) -> list[str]:
    pages = server.client("cloudtrail").get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])
    return sorted(resource["ResourceName"].rpartition("/")[2] for page in pages for event in page["Events"]
                  for resource in event.get("Resources", []) if resource["ResourceType"] == "AWS::IAM::User")


def test_a_killed_history_process_is_replaced_and_loses_nothing(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        iam = server.client("iam")
        iam.create_user(UserName="before")
        assert _created_users(server) == ["before"]
        (first,) = _history_processes(server.data_dir)
        os.kill(first, signal.SIGKILL)
        iam.create_user(UserName="meanwhile")  # journaled while no history process runs
        _wait_for(lambda: set(_history_processes(server.data_dir)) - {first}, "a new history process")
        assert _created_users(server) == ["before", "meanwhile"]
    finally:
        server.stop()


def test_a_killed_server_loses_and_repeats_no_answered_call(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    names = [f"user{number:02d}" for number in range(30)]
    try:
        (history,) = _history_processes(server.data_dir)
        iam = server.client("iam")
        for name in names:
            iam.create_user(UserName=name)
        time.sleep(0.2)  # the bus journals answered calls within milliseconds
        server.process.kill()
        server.process.wait()
        _wait_for(lambda: history not in _history_processes(server.data_dir), "the orphaned history process to stop")
    finally:
        server.stop()
    server = start_server(tmp_path / "data")
    try:
        assert _created_users(server) == names
    finally:
        server.stop()


def test_workers_share_one_journal_and_store_each_call_once(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", args=["--workers", "2"])
    try:
        iam = server.client("iam")
        names = [f"worker-user{number:02d}" for number in range(20)]
        for name in names:
            iam.create_user(UserName=name)
        assert _created_users(server) == names
        _wait_for(lambda: len(_history_processes(server.data_dir)) == 2, "a history process per worker")
    finally:
        server.stop()
