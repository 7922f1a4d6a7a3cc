"""``rampart trail validate``: check a trail's digests and log files offline, like ``aws cloudtrail validate-logs``.

Reads Rampart's store directly (data dir or database URL): the server need
not run, and a server that lies cannot vouch for itself, since the check
needs only the bucket's objects and the public keys. Exit status 1 when any
digest or log file is invalid.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from rampart.cli.main import build_settings, friendly_errors, storage_options


def _when(text: str) -> dt.datetime:
    from dateutil import parser  # botocore's dependency, as the AWS CLI parses these

    try:
        moment = parser.parse(text)
    except (ValueError, OverflowError) as error:
        raise click.BadParameter(f"Unable to parse date value: {text}") from error
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _offline_gateway(settings: Any) -> Any:
    """The storage, master key and services of a server, without serving."""
    from rampart.accounts import AccountStore
    from rampart.gateway import registry
    from rampart.gateway.context import Gateway
    from rampart.secrets import MasterKey
    from rampart.storage.db import Database

    db = Database(settings.resolved_database_url)
    db.migrate()
    accounts = AccountStore(db, MasterKey.load(settings))
    registry.load_services()
    gateway = Gateway(settings=settings, lookup_key=accounts.lookup_signing_key, db=db, accounts=accounts)
    registry.wire_services(gateway)
    return gateway


def _target(gateway: Any, trail_arn: str, region: str | None, account_id: str | None) -> Any:
    from rampart.gateway.authorize import org_of_account
    from rampart.services.cloudtrail import trails
    from rampart.services.cloudtrail.validate import TrailTarget

    with gateway.db.read() as conn:
        trail = trails.get_trail(conn, trail_arn)
    if trail is None:
        raise click.ClickException(f"A trail could not be found for {trail_arn}")
    org = org_of_account(trail.account_id) if trail.organization else None
    return TrailTarget(trail.name, account_id or trail.account_id, trail.home_region, trail.bucket, trail.prefix,
                       region or trail.home_region, org.org_id if org else None)


@click.group()
def trail() -> None:
    """CloudTrail trails: check their log file integrity."""


@trail.command("validate")
@click.option("--trail-arn", required=True, help="The trail to validate.")
@click.option("--start-time", required=True, help="Validate log files delivered on or after this UTC time.")
@click.option("--end-time", default=None, help="... and on or before this one [default: now].")
@click.option("--region", default=None, help="Region of the digests [default: the trail's home region].")
@click.option("--account-id", default=None, help="Member account (organization trails).")
@click.option("--verbose", is_flag=True, help="List every valid file too.")
@storage_options
def validate_command(trail_arn: str, start_time: str, end_time: str | None, region: str | None,
                     account_id: str | None, verbose: bool, data_dir: Path, database_url: str | None) -> None:
    """Validate a trail's digest chain and the log files it lists."""
    from rampart.services.cloudtrail.validate import validate
    from rampart.services.cloudtrail.validate_sources import StoreKeys, StoreSource

    start = _when(start_time)
    end = _when(end_time) if end_time else dt.datetime.now(dt.UTC).replace(microsecond=0)
    if start > end:
        raise click.ClickException("Invalid time range specified: start-time must occur before end-time")
    settings = build_settings(data_dir=data_dir, database_url=database_url)
    with friendly_errors():
        gateway = _offline_gateway(settings)
        try:
            target = _target(gateway, trail_arn, region, account_id)
            click.echo(f"Validating log files for trail {trail_arn} between "
                       f"{start:%Y-%m-%dT%H:%M:%SZ} and {end:%Y-%m-%dT%H:%M:%SZ}\n")
            source = StoreSource.of_bucket(gateway, target.bucket, target.account_id, target.region)
            report = _run(validate, source, StoreKeys(gateway.db), target, start, end, verbose)
        finally:
            gateway.db.dispose()
    click.echo("\n" + report.summary() + "\n")
    if not report.ok:
        sys.exit(1)


def _run(validate: Any, source: Any, keys: Any, target: Any, start: dt.datetime, end: dt.datetime,
         verbose: bool) -> Any:
    """Validate with a progress bar on stderr; findings print as they come (invalid ones always)."""
    with click.progressbar(length=0, label="Validating", file=sys.stderr, show_pos=True) as bar:
        def seen(finding: Any) -> None:
            bar.length = (bar.length or 0) + 1
            bar.update(1)
            if not finding.valid:
                click.echo(finding.line(), err=True)
            elif verbose:
                click.echo(finding.line())

        return validate(source, keys, target, start, end, on_finding=seen)
