"""Migration 0007 creates exactly the KMS tables that ``kms.tables`` declares, on SQLite and PostgreSQL;
key material round-trips as bytes and the tables go away on downgrade."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, inspect, select

from rampart.services.kms.tables import (
    kms_aliases,
    kms_grants,
    kms_key_materials,
    kms_keys,
)
from rampart.storage.db import Database
from tests.storage.pg import any_db, any_db_url, postgres_url  # noqa: F401 - fixtures

TABLES = (kms_keys, kms_key_materials, kms_aliases, kms_grants)


def test_migrated_columns_match_the_declared_tables(any_db: Database) -> None:  # noqa: F811
    inspector = inspect(any_db.engine)
    for table in TABLES:
        migrated = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name: c.nullable for c in table.columns}, table.name
        assert inspector.get_pk_constraint(table.name)["constrained_columns"] == [c.name for c in table.primary_key]


def test_material_is_stored_as_bytes_and_downgrade_drops_the_tables(any_db: Database) -> None:  # noqa: F811
    from rampart.storage.schema import accounts

    now = dt.datetime.now(dt.UTC)
    with any_db.session() as session:
        session.execute(insert(accounts).values(account_id="111122223333", name="kms-tables", created_at=now))
        session.execute(insert(kms_keys).values(
            key_id="k" * 36, account_id="111122223333", region="us-east-1", description="", key_spec="S",
            key_usage="U", origin="AWS_KMS", manager="CUSTOMER", state="Enabled", created_at=now, policy="{}",
            tags="{}", current_version=1))
        session.execute(insert(kms_key_materials).values(key_id="k" * 36, version=1, created_at=now,
                                                         material=b"\x00\xffsealed"))
    with any_db.read() as conn:
        assert conn.execute(select(kms_key_materials.c.material)).scalar_one() == b"\x00\xffsealed"
    any_db.downgrade("0006")
    assert not set(inspect(any_db.engine).get_table_names()) & {t.name for t in TABLES}
    any_db.migrate()
    assert {t.name for t in TABLES} <= set(inspect(any_db.engine).get_table_names())
