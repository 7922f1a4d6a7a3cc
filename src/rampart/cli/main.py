"""The ``rampart`` command: run the server, manage accounts.

Every option can also come from a ``RAMPART_*`` environment variable; the
remaining settings (account id, root keys, master key, region) come from the
environment only, so secrets never appear on a command line.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from rampart import __version__
from rampart.accounts import (
    ROOT_CREDENTIALS_FILE,
    AccessKeyPair,
    AccountInfo,
    AccountStore,
)
from rampart.aws.errors import AwsError
from rampart.config import Settings
from rampart.secrets import DecryptionError, MasterKey, MasterKeyError
from rampart.storage.db import Database

APP_FACTORY = "rampart.gateway.app:create_app"
F = TypeVar("F", bound=Callable[..., Any])


def storage_options(command: F) -> F:
    """``--data-dir`` and ``--database-url``, shared by every command that opens storage."""
    command = click.option(
        "--database-url",
        envvar="RAMPART_DATABASE_URL",
        default=None,
        help="SQLAlchemy URL, e.g. postgresql://user@host/db [default: SQLite in the data dir]",
    )(command)
    return click.option(
        "--data-dir",
        envvar="RAMPART_DATA_DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".rampart"),
        show_default=True,
        help="Database, master key file, blobs.",
    )(command)


def build_settings(**overrides: Any) -> Settings:
    """Settings from the environment, overridden by the command-line options given."""
    settings = dataclasses.replace(
        Settings.from_env(), **{k: v for k, v in overrides.items() if v is not None}
    )
    settings.data_dir = Path(settings.data_dir).expanduser().resolve()
    return settings


def settings_to_env(settings: Settings) -> dict[str, str]:
    """The ``RAMPART_*`` variables that make ``Settings.from_env()`` rebuild ``settings``.

    uvicorn's workers import the app afresh, so the environment is how the
    parent's settings reach them.
    """
    env = {
        "RAMPART_HOST": settings.host,
        "RAMPART_PORT": str(settings.port),
        "RAMPART_DATA_DIR": str(settings.data_dir),
        "RAMPART_DATABASE_URL": settings.database_url or "",
        "RAMPART_WORKERS": str(settings.workers),
        "RAMPART_ACCOUNT_ID": settings.account_id,
        "RAMPART_ROOT_ACCESS_KEY_ID": settings.root_access_key_id or "",
        "RAMPART_ROOT_SECRET_ACCESS_KEY": settings.root_secret_access_key or "",
        "RAMPART_MASTER_KEY": settings.master_key or "",
        "RAMPART_REGION": settings.region,
        "RAMPART_TEST_MODE": "1" if settings.test_mode else "0",
        "RAMPART_MAX_BODY_BYTES": str(settings.max_body_bytes),
    }
    return env


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Start-up problems become one clear line, not a traceback."""
    try:
        yield
    except AwsError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from error
    except (MasterKeyError, DecryptionError) as error:
        raise click.ClickException(f"master key: {error}") from error
    except SQLAlchemyError as error:
        raise click.ClickException(f"database: {error}") from error
    except OSError as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def open_store(settings: Settings) -> Iterator[AccountStore]:
    """Data dir, migrated database and master key: what every command needs."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        db.migrate()
        yield AccountStore(db, MasterKey.load(settings))
    finally:
        db.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rampart")
def main() -> None:
    """Rampart: the AWS security services, self-hosted."""


@main.command()
@click.option("--host", envvar="RAMPART_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="RAMPART_PORT", type=click.IntRange(0, 65535), default=4566,
              show_default=True)
@storage_options
@click.option("--workers", envvar="RAMPART_WORKERS", type=click.IntRange(min=1), default=1,
              show_default=True, help="Server processes sharing one database.")
@click.option("--test-mode/--no-test-mode", envvar="RAMPART_TEST_MODE", default=False,
              help="Enable the admin routes that move the clock and run jobs.")
@click.option("--quiet", is_flag=True, envvar="RAMPART_QUIET", help="Log warnings only.")
def serve(
    host: str, port: int, data_dir: Path, database_url: str | None, workers: int,
    test_mode: bool, quiet: bool,
) -> None:
    """Run the server (first start: create the default account, print its keys)."""
    settings = build_settings(
        host=host, port=port, data_dir=data_dir, database_url=database_url,
        workers=workers, test_mode=test_mode, quiet=quiet,
    )
    with friendly_errors(), open_store(settings) as store:
        keys = store.bootstrap_default(settings)
    if keys is not None:
        click.echo(root_keys_banner(keys, settings))
    run_server(settings)


def run_server(settings: Settings) -> None:
    """Hand over to uvicorn; workers rebuild the settings from the environment."""
    import uvicorn  # noqa: PLC0415 - only `serve` needs the server

    from rampart.gateway.access_log import uvicorn_log_config

    os.environ.update(settings_to_env(settings))
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="warning" if settings.quiet else "info",
        access_log=not settings.quiet,
        server_header=False,
        log_config=uvicorn_log_config(),
    )


def endpoint_url(settings: Settings) -> str:
    """Where clients should point: a wildcard bind address means this machine."""
    host = settings.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def root_keys_banner(keys: AccessKeyPair, settings: Settings) -> str:
    """The one-time message with the default account's root keys and how to use them."""
    path = settings.data_dir / ROOT_CREDENTIALS_FILE
    return "\n".join([
        f"Created account {keys.account_id} with a root access key. It is shown only now",
        f"(and kept, mode 0600, in {path}). To use it:",
        "",
        f"    export AWS_ACCESS_KEY_ID={keys.access_key_id}",
        f"    export AWS_SECRET_ACCESS_KEY={keys.secret_access_key}",
        f"    export AWS_DEFAULT_REGION={settings.region}",
        f"    export AWS_ENDPOINT_URL={endpoint_url(settings)}",
        "    aws sts get-caller-identity",
        "",
    ])


@main.group()
def account() -> None:
    """Create and list the accounts this server hosts."""


@account.command("create")
@click.option("--name", required=True, help="A unique name (1-50 printable characters).")
@storage_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def account_create(name: str, data_dir: Path, database_url: str | None, as_json: bool) -> None:
    """Add an account; prints its id and root keys (shown only this once)."""
    settings = build_settings(data_dir=data_dir, database_url=database_url)
    with friendly_errors(), open_store(settings) as store:
        account_id, keys = store.create_account(name)
    if as_json:
        click.echo(json.dumps({
            "AccountId": account_id, "Name": name,
            "AccessKeyId": keys.access_key_id, "SecretAccessKey": keys.secret_access_key,
        }, indent=2))
        return
    click.echo(f"Created account {account_id} ({name}). Its root access key, shown only now:")
    click.echo(f"    AWS_ACCESS_KEY_ID={keys.access_key_id}")
    click.echo(f"    AWS_SECRET_ACCESS_KEY={keys.secret_access_key}")


@account.command("list")
@storage_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def account_list(data_dir: Path, database_url: str | None, as_json: bool) -> None:
    """List the accounts, oldest first."""
    settings = build_settings(data_dir=data_dir, database_url=database_url)
    with friendly_errors(), open_store(settings) as store:
        found = store.list_accounts()
    if as_json:
        click.echo(json.dumps([
            {"AccountId": a.account_id, "Name": a.name, "CreatedAt": a.created_at.isoformat()}
            for a in found
        ], indent=2))
        return
    click.echo(format_table(found))


def format_table(found: list[AccountInfo]) -> str:
    """Accounts as aligned text columns."""
    rows = [("ACCOUNT ID", "NAME", "CREATED")] + [
        (a.account_id, a.name, a.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")) for a in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows
    )


def _add_trail_commands() -> None:
    """``rampart trail ...`` lives in its own module (CloudTrail integrity validation)."""
    from rampart.cli.trail import trail

    main.add_command(trail)


_add_trail_commands()
