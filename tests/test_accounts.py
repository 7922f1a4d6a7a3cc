"""Accounts and credentials: bootstrap, key formats, the cached SigV4 lookup."""

from __future__ import annotations

import datetime as dt

import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from rampart.accounts import (
    ROOT_CREDENTIALS_FILE,
    AccountError,
    AccountStore,
    DuplicateAccountName,
    PrincipalRef,
    account_id_from_access_key_id,
    generate_access_key_id,
    generate_secret_access_key,
)
from rampart.aws.errors import ValidationError
from rampart.config import Settings
from rampart.secrets import DecryptionError, MasterKey
from rampart.storage.db import Database
from rampart.storage.schema import access_keys
from tests.storage.pg import any_db, any_db_url, postgres_url  # noqa: F401 - fixtures

KEY = MasterKey(bytes(range(32)))
ENV_KEY_ID = "AKIAENVPROVIDED12345"
ENV_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def store(any_db: Database) -> AccountStore:
    return AccountStore(any_db, KEY)


def test_key_formats_match_aws() -> None:
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", generate_access_key_id("123456789012"))
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", generate_secret_access_key())


@given(st.integers(0, 10**12 - 1))
def test_access_key_id_encodes_its_account(number: int) -> None:
    account_id = f"{number:012d}"
    assert account_id_from_access_key_id(generate_access_key_id(account_id)) == account_id


def test_known_aws_key_id_decodes_to_its_account() -> None:
    """AWS's documented example key decodes the way AWS's own keys do."""
    assert account_id_from_access_key_id("AKIAIOSFODNN7EXAMPLE") == "581039954779"


def test_bootstrap_creates_default_account_once(store: AccountStore, settings: Settings) -> None:
    keys = store.bootstrap_default(settings)
    assert keys is not None and keys.account_id == "123456789012"
    assert store.bootstrap_default(settings) is None  # restart: nothing new, nothing printed
    restarted = AccountStore(store.db, KEY)
    assert restarted.bootstrap_default(settings) is None
    record = restarted.lookup_signing_key(keys.access_key_id)
    assert record is not None and record.secret_access_key == keys.secret_access_key
    assert record.principal == PrincipalRef(
        "123456789012", "root", None, "arn:aws:iam::123456789012:root", "123456789012"
    )
    assert [(a.account_id, a.name) for a in store.list_accounts()] == [("123456789012", "default")]


def test_bootstrap_writes_credentials_file_0600(store: AccountStore, settings: Settings) -> None:
    keys = store.bootstrap_default(settings)
    path = settings.data_dir / ROOT_CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "AccountId": keys.account_id,
        "AccessKeyId": keys.access_key_id,
        "SecretAccessKey": keys.secret_access_key,
    }


def test_bootstrap_uses_env_keys_and_custom_account(store: AccountStore, tmp_path: Path) -> None:
    chosen = Settings(
        data_dir=tmp_path, account_id="000000000042",
        root_access_key_id=ENV_KEY_ID, root_secret_access_key=ENV_SECRET,
    )
    keys = store.bootstrap_default(chosen)
    assert (keys.account_id, keys.access_key_id, keys.secret_access_key) == (
        "000000000042", ENV_KEY_ID, ENV_SECRET
    )
    assert store.lookup_signing_key(ENV_KEY_ID).principal.arn == "arn:aws:iam::000000000042:root"


def test_env_keys_given_on_a_later_start_are_added(store: AccountStore, settings: Settings) -> None:
    generated = store.bootstrap_default(settings)
    settings.root_access_key_id, settings.root_secret_access_key = ENV_KEY_ID, ENV_SECRET
    assert store.bootstrap_default(settings) is None
    assert store.lookup_signing_key(ENV_KEY_ID).secret_access_key == ENV_SECRET
    assert store.lookup_signing_key(generated.access_key_id) is not None  # old key still works


def test_env_secret_change_and_reactivation_take_effect(store: AccountStore, settings: Settings) -> None:
    settings.root_access_key_id, settings.root_secret_access_key = ENV_KEY_ID, ENV_SECRET
    store.bootstrap_default(settings)
    store.set_access_key_status(ENV_KEY_ID, "Inactive")
    settings.root_secret_access_key = "x" * 40
    AccountStore(store.db, KEY).bootstrap_default(settings)
    store.invalidate()
    assert store.lookup_signing_key(ENV_KEY_ID).secret_access_key == "x" * 40


def test_env_key_of_another_account_is_refused(store: AccountStore, settings: Settings) -> None:
    _, other = store.create_account("other")
    settings.root_access_key_id, settings.root_secret_access_key = other.access_key_id, ENV_SECRET
    with pytest.raises(AccountError, match="another principal"):
        store.bootstrap_default(settings)


@pytest.mark.parametrize(
    ("key_id", "secret", "account_id", "message"),
    [
        (ENV_KEY_ID, None, "123456789012", "both"),
        (None, ENV_SECRET, "123456789012", "both"),
        ("short", ENV_SECRET, "123456789012", "16-128"),
        (ENV_KEY_ID, ENV_SECRET, "12345", "12 digits"),
    ],
)
def test_bad_bootstrap_settings_are_refused(
    store: AccountStore, tmp_path: Path, key_id: str | None, secret: str | None,
    account_id: str, message: str,
) -> None:
    bad = Settings(data_dir=tmp_path, account_id=account_id, root_access_key_id=key_id,
                   root_secret_access_key=secret)
    with pytest.raises(AccountError, match=message):
        store.bootstrap_default(bad)


def test_wrong_master_key_fails_at_start(store: AccountStore, settings: Settings) -> None:
    store.bootstrap_default(settings)
    with pytest.raises(DecryptionError, match="another master key"):
        AccountStore(store.db, MasterKey(os.urandom(32))).bootstrap_default(settings)


def test_concurrent_bootstrap_creates_one_account(any_db_url: str, settings: Settings) -> None:
    """Workers starting together: exactly one of them creates (and reports) the keys."""
    Database(any_db_url).migrate()
    results: list[object] = []

    def start() -> None:
        db = Database(any_db_url)
        results.append(AccountStore(db, KEY).bootstrap_default(settings))
        db.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1


def test_create_and_list_accounts(store: AccountStore) -> None:
    first_id, first_keys = store.create_account("dev")
    second_id, _ = store.create_account("prod")
    assert re.fullmatch(r"\d{12}", first_id) and first_id != second_id
    assert first_keys.account_id == first_id
    assert account_id_from_access_key_id(first_keys.access_key_id) == first_id
    assert [a.name for a in store.list_accounts()] == ["dev", "prod"]
    assert store.get_account(first_id).name == "dev" and store.get_account("000000000000") is None
    assert store.lookup_signing_key(first_keys.access_key_id).account_id == first_id


def test_duplicate_account_name_is_refused(store: AccountStore) -> None:
    store.create_account("dev")
    with pytest.raises(DuplicateAccountName):
        store.create_account("dev")


@pytest.mark.parametrize("name", ["", "x" * 51, "tab\there", "naïve"])
def test_invalid_account_names_are_refused(store: AccountStore, name: str) -> None:
    with pytest.raises(ValidationError, match="accountName"):
        store.create_account(name)


@pytest.mark.parametrize("key_id", ["", "AKIA", "AKIA" + "A" * 200, "AKIA-not-valid-chars!", "AKIANOSUCHKEY0000000"])
def test_unknown_or_malformed_key_ids_are_not_found(store: AccountStore, key_id: str) -> None:
    assert store.lookup_signing_key(key_id) is None


def test_deactivated_and_deleted_keys_stop_at_once(store: AccountStore) -> None:
    account_id, _ = store.create_account("dev")
    keys = store.add_access_key(account_id, "user", "alice")
    record = store.lookup_signing_key(keys.access_key_id)
    assert record.principal.arn == f"arn:aws:iam::{account_id}:user/alice"
    assert record.principal.user_id.startswith("AIDA")
    assert store.set_access_key_status(keys.access_key_id, "Inactive")
    assert store.lookup_signing_key(keys.access_key_id) is None
    assert store.set_access_key_status(keys.access_key_id, "Active")
    assert store.lookup_signing_key(keys.access_key_id) is not None
    assert store.delete_access_key(keys.access_key_id)
    assert store.lookup_signing_key(keys.access_key_id) is None
    assert not store.delete_access_key(keys.access_key_id)


def test_change_inside_callers_transaction_is_seen_after_commit(store: AccountStore) -> None:
    keys = store.add_access_key(store.create_account("dev")[0], "root")
    with store.db.session() as session:
        store.set_access_key_status(keys.access_key_id, "Inactive", session=session)
        store.lookup_signing_key(keys.access_key_id)  # re-caches the still-committed Active row
    assert store.lookup_signing_key(keys.access_key_id) is None


def test_other_process_changes_show_after_invalidate(store: AccountStore) -> None:
    keys = store.add_access_key(store.create_account("dev")[0], "root")
    other_worker = AccountStore(store.db, KEY)
    assert other_worker.lookup_signing_key(keys.access_key_id) is not None
    store.delete_access_key(keys.access_key_id)
    assert other_worker.lookup_signing_key(keys.access_key_id) is not None  # cached (TTL)
    other_worker.invalidate()
    assert other_worker.lookup_signing_key(keys.access_key_id) is None


def test_user_resolver_supplies_principal(any_db: Database) -> None:
    resolved = PrincipalRef("111111111111", "user", "bob", "arn:aws:iam::111111111111:user/ops/bob", "AIDAX")
    store = AccountStore(any_db, KEY, resolve_user=lambda _c, _a, name: resolved if name == "bob" else None)
    account_id, _ = store.create_account("dev")
    bob = store.add_access_key(account_id, "user", "bob")
    gone = store.add_access_key(account_id, "user", "deleted-user")
    assert store.lookup_signing_key(bob.access_key_id).principal is resolved
    assert store.lookup_signing_key(gone.access_key_id) is None


@pytest.mark.parametrize(("kind", "user"), [("user", None), ("root", "alice"), ("role", "x")])
def test_add_access_key_checks_kind_and_user(store: AccountStore, kind: str, user: str | None) -> None:
    with pytest.raises(ValidationError):
        store.add_access_key("123456789012", kind, user)  # type: ignore[arg-type]


def test_key_use_is_written_by_flush(store: AccountStore) -> None:
    keys = store.add_access_key(store.create_account("dev")[0], "root")
    store.flush_key_use()
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    store.note_key_use(keys.access_key_id, "iam", "us-east-1", when)
    store.note_key_use(keys.access_key_id, "s3", "eu-west-1", when + dt.timedelta(seconds=0.1))

    def last_use() -> tuple[object, ...]:
        with store.db.read() as conn:
            row = conn.execute(select(access_keys).where(access_keys.c.access_key_id == keys.access_key_id)).one()
        return (row.last_used_at, row.last_used_service, row.last_used_region)

    store.flush_key_use()
    assert last_use() == (when + dt.timedelta(seconds=0.1), "s3", "eu-west-1")


def test_secrets_never_reach_the_database_file(tmp_path: Path, settings: Settings) -> None:
    db = Database(f"sqlite:///{tmp_path / 'rampart.db'}")
    db.migrate()
    store = AccountStore(db, MasterKey.load(settings))
    secrets = [store.bootstrap_default(settings).secret_access_key]
    secrets += [store.create_account(f"a{n}")[1].secret_access_key for n in range(3)]
    with db.read() as conn:  # the ciphertexts are there...
        assert len(conn.execute(select(access_keys.c.secret_ciphertext)).all()) == 4
    files = [p for p in tmp_path.iterdir() if p.name.startswith("rampart.db")]
    on_disk = b"".join(p.read_bytes() for p in files)  # db, and the WAL before checkpoint
    db.dispose()
    on_disk += (tmp_path / "rampart.db").read_bytes()
    for secret in secrets:
        assert secret.encode() not in on_disk
