"""The Database: URLs, migrations (also racing), transactions, timestamps."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, insert, select, text
from sqlalchemy.exc import IntegrityError

from rampart.storage.db import VERSION_TABLE, Database, lock_key, normalize_url
from rampart.storage.schema import accounts, metadata
from tests.storage.pg import sqlite_url_in

NOW = dt.datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:////tmp/x.db", "sqlite"),
        ("sqlite://", "sqlite"),
    ],
)
def test_normalize_url_points_postgres_at_psycopg(given: str, driver: str) -> None:
    assert normalize_url(given).drivername == driver


def test_lock_key_is_stable_and_fits_bigint() -> None:
    key = lock_key("rampart.migrate")
    assert key == lock_key("rampart.migrate") != lock_key("other")
    assert -(2**63) <= key < 2**63


def test_migrate_creates_schema_and_is_idempotent(any_db: Database) -> None:
    any_db.migrate()  # a second time: nothing to do
    assert any_db.current_revision() == Database.head_revision()
    tables = set(inspect(any_db.engine).get_table_names())
    assert set(metadata.tables) | {VERSION_TABLE} <= tables


def test_migrations_match_schema_module(any_db: Database) -> None:
    """The migrated database has exactly the columns schema.py declares."""
    inspector = inspect(any_db.engine)
    for table in metadata.sorted_tables:
        migrated = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        declared = {c.name: c.nullable for c in table.columns}
        assert migrated == declared, table.name


def test_downgrade_to_base_and_up_again(any_db: Database) -> None:
    any_db.downgrade("base")
    assert any_db.current_revision() is None
    any_db.migrate()
    assert any_db.current_revision() == Database.head_revision()


def test_session_commits_on_success_and_rolls_back_on_error(any_db: Database) -> None:
    with any_db.session() as session:
        session.execute(insert(accounts).values(account_id="111111111111", name="a", created_at=NOW))
    with pytest.raises(RuntimeError), any_db.session() as session:
        session.execute(insert(accounts).values(account_id="222222222222", name="b", created_at=NOW))
        raise RuntimeError("boom")
    with any_db.read() as conn:
        assert conn.execute(select(accounts.c.account_id)).scalars().all() == ["111111111111"]


def test_unique_name_is_enforced(any_db: Database) -> None:
    with any_db.session() as session:
        session.execute(insert(accounts).values(account_id="111111111111", name="a", created_at=NOW))
    with pytest.raises(IntegrityError), any_db.session() as session:
        session.execute(insert(accounts).values(account_id="222222222222", name="a", created_at=NOW))


def test_timestamps_come_back_aware_utc(any_db: Database) -> None:
    local = NOW.astimezone(dt.timezone(dt.timedelta(hours=5)))
    with any_db.session() as session:
        session.execute(insert(accounts).values(account_id="111111111111", name="a", created_at=local))
    with any_db.read() as conn:
        stored = conn.execute(select(accounts.c.created_at)).scalar_one()
    assert stored == NOW and stored.tzinfo == dt.timezone.utc


def test_naive_timestamps_are_refused(any_db: Database) -> None:
    with pytest.raises(Exception, match="naive"), any_db.session() as session:
        session.execute(
            insert(accounts).values(account_id="1" * 12, name="a", created_at=NOW.replace(tzinfo=None))
        )


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(sqlite_url_in(tmp_path))
    db.migrate()
    with db.read() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


def test_in_memory_sqlite_keeps_one_database(tmp_path: Path) -> None:
    db = Database("sqlite://")
    db.migrate()
    assert db.current_revision() == Database.head_revision()


_MIGRATE_SCRIPT = """
import sys, time
from pathlib import Path
from rampart.storage.db import Database
url, barrier, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
(barrier / sys.argv[4]).touch()
deadline = time.monotonic() + 60
while len(list(barrier.iterdir())) < count and time.monotonic() < deadline:
    time.sleep(0.01)
db = Database(url)
db.migrate()
print(db.current_revision())
"""


def _migrate_concurrently(url: str, barrier: Path, processes: int = 3) -> list[str]:
    """Start processes that wait for each other (imports done), then all migrate at once."""
    barrier.mkdir()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE_SCRIPT, url, str(barrier), str(processes), str(n)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for n in range(processes)
    ]
    results = [child.communicate(timeout=120) for child in children]
    for child, (_out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
    return [out.strip() for out, _err in results]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_migrate_from_several_processes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url_in(tmp_path) if backend == "sqlite" else request.getfixturevalue("postgres_url")
    revisions = _migrate_concurrently(url, tmp_path / "barrier")
    assert revisions == [Database.head_revision()] * len(revisions)
    db = Database(url)
    with db.read() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar() == 1
        assert conn.execute(select(func.count()).select_from(accounts)).scalar() == 0
    db.dispose()


def test_read_one_runs_a_single_statement_outside_explicit_transactions(any_db: Database) -> None:
    with any_db.session() as session:
        session.execute(insert(accounts).values(account_id="1" * 12, name="a", created_at=NOW))
    with any_db.read_one() as conn:
        assert conn.execute(select(accounts.c.name)).scalar_one() == "a"
    with any_db.session() as session:  # the pool's connection is still good for writers
        session.execute(insert(accounts).values(account_id="2" * 12, name="b", created_at=NOW))
