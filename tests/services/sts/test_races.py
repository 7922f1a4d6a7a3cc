"""Check-then-write races on PostgreSQL: one TOTP code, sent many times at once, is accepted once.

SQLite serializes writers (BEGIN IMMEDIATE), so these races only exist on
PostgreSQL (READ COMMITTED): the tests run a server on the PostgreSQL of
``RAMPART_TEST_POSTGRES_URL`` and are skipped without one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from rampart.services.sts.handlers import mfa_lock_name
from rampart.storage.db import Database
from tests.conftest import ROOT_ACCOUNT, Server, start_server
from tests.services.iam.helpers import allow
from tests.services.sts.test_tokens import current_code, user_with_mfa
from tests.storage.pg import postgres_url  # noqa: F401 - fixture

CONCURRENT = 8  # requests per code
DEVICES = 6  # codes raced at once (more chances for the race to show)


@pytest.fixture
def pg_server(postgres_url: str, tmp_path: Path) -> Iterator[Server]:  # noqa: F811 - the fixture above
    """A server of its own on a fresh PostgreSQL schema, with two workers (two processes, one database)."""
    running = start_server(tmp_path / "data", args=["--database-url", postgres_url, "--workers", "2"])
    running.env["TEST_DATABASE_URL"] = postgres_url
    yield running
    running.stop()


def at_once(calls: list[object]) -> list[object]:
    """Run the callables in threads released together; each one's result or ClientError."""
    gate = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        gate.wait()
        try:
            results[index] = calls[index]()  # type: ignore[operator]
        except ClientError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def codes_of(results: list[object]) -> list[str]:
    """"OK" or the error code of each result (a 500 would show as InternalFailure)."""
    return ["OK" if not isinstance(r, ClientError) else r.response["Error"]["Code"] for r in results]


def test_a_totp_code_sent_concurrently_is_accepted_once(pg_server: Server) -> None:
    devices = [user_with_mfa(pg_server, allow("sts:GetSessionToken")) for _ in range(DEVICES)]
    calls = []
    for _, keys, serial, seed in devices:
        code = current_code(pg_server, seed)
        for client in [pg_server.client("sts", **keys) for _ in range(CONCURRENT)]:
            calls.append(lambda c=client, s=serial, t=code: c.get_session_token(SerialNumber=s, TokenCode=t))
    outcome = codes_of(at_once(calls))
    for index in range(DEVICES):  # per device: one success, the replays refused
        mine = outcome[index * CONCURRENT:(index + 1) * CONCURRENT]
        assert mine.count("OK") == 1 and set(mine) == {"OK", "AccessDenied"}, mine


def test_a_code_is_checked_under_the_device_lock(pg_server: Server) -> None:
    """Deterministic: while someone holds the device's lock, a code waits; it is checked once the lock is free."""
    _, keys, serial, seed = user_with_mfa(pg_server, allow("sts:GetSessionToken"))
    code = current_code(pg_server, seed)
    done = threading.Event()
    result: list[object] = []

    def call() -> None:
        result.extend(codes_of(at_once([lambda: pg_server.client("sts", **keys).get_session_token(
            SerialNumber=serial, TokenCode=code)])))
        done.set()

    database = Database(pg_server.env["TEST_DATABASE_URL"])
    try:
        with database.session() as holder:
            database.lock(holder, mfa_lock_name(ROOT_ACCOUNT, serial))
            worker = threading.Thread(target=call)
            worker.start()
            assert not done.wait(2.0), f"the code was checked while the device was locked: {result}"
        worker.join(timeout=30)
    finally:
        database.dispose()
    assert result == ["OK"]
