"""What auditing costs, and how fast LookupEvents answers over a large history.

Usage (from the repository root, in the venv):

    python bench/audit.py                       # both parts: throughput, then lookups over 1,000,000 events
    python bench/audit.py --part throughput --rounds 3
    python bench/audit.py --part lookup --events 1000000

Part 1, throughput: two Rampart servers, one with auditing on (the default:
every call becomes a CloudTrail event in the history, written by the
history writer) and one with ``RAMPART_AUDIT=off``, measured in interleaved
rounds with the same pool of pre-signed requests (half sts
GetCallerIdentity, half iam GetUser, signed by root). With auditing on the
server also has one active trail delivering every 5 s (``--no-trail``
skips it). After the runs the audited server's history must hold every call
(checked through LookupEvents counts being non-zero and the store's row
count). Prints req/s of each, and the cost ratio; the issue's target is
auditing < 10%.

Part 2, lookup latency: a data dir is filled in-process with ``--events``
synthetic management events (bulk ``history.append_events`` in large
batches: several accounts, regions, users, event names, resources), then a
server on that data dir answers LookupEvents by each attribute through
boto3; prints the median and worst latency per attribute. Never passes or
fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _load
import _servers
import _sign

ACCOUNT = "123456789012"
USER = "bench-audited"
NAMES = ["GetUser", "ListUsers", "CreateUser", "PutObject", "Decrypt", "AssumeRole", "DescribeKey", "GetBucketAcl"]
SOURCES = ["iam.amazonaws.com", "s3.amazonaws.com", "kms.amazonaws.com", "sts.amazonaws.com"]
REGIONS = ["us-east-1", "eu-west-1"]


def _client(endpoint: str, service: str, key: str, secret: str, region: str = "us-east-1") -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


# --- part 1: throughput --------------------------------------------------------------


def _spec(port: int, data_dir: Path, key: str, secret: str, audit: bool) -> _servers.ServerSpec:
    spec = _servers.rampart_spec(port, 1, data_dir, key, secret)
    # The audited server's trail delivers every 5 s, so delivery's cost is inside the measured rounds.
    return replace(spec, name=f"rampart-audit-{'on' if audit else 'off'}",
                   env={**spec.env, "RAMPART_AUDIT": "on" if audit else "off", "RAMPART_TRAIL_DELIVERY_SECONDS": "5"})


def _setup(endpoint: str, key: str, secret: str, trail: bool) -> None:
    """The user GetUser asks about; one active trail (unless not wanted), with the bucket policy CloudTrail needs."""
    _client(endpoint, "iam", key, secret).create_user(UserName=USER)
    if not trail:
        return
    account = _client(endpoint, "sts", key, secret).get_caller_identity()["Account"]
    s3 = _client(endpoint, "s3", key, secret)
    s3.create_bucket(Bucket="bench-trail")
    s3.put_bucket_policy(Bucket="bench-trail", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": "arn:aws:s3:::bench-trail"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::bench-trail/AWSLogs/{account}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
    ]}))
    ct = _client(endpoint, "cloudtrail", key, secret)
    ct.create_trail(Name="bench", S3BucketName="bench-trail", EnableLogFileValidation=True)
    ct.start_logging(Name="bench")
    print("audited server: one active trail (bench -> s3://bench-trail, delivering every 5 s)")


def _pool(server: _servers.RunningServer, key: str, secret: str, size: int) -> list[bytes]:
    half = max(1, size // 2)
    sts = _sign.presign(server.host, server.port, key, secret, half)
    iam = _sign.presign(server.host, server.port, key, secret, half, service="iam",
                        body=f"Action=GetUser&Version=2010-05-08&UserName={USER}")
    return [request.raw() for pair in zip(sts, iam, strict=True) for request in pair]


def throughput(args: argparse.Namespace) -> None:
    """Audit on vs off, interleaved rounds, same request mix."""
    use_wrk = _load.have_wrk() and args.generator != "asyncio"
    print(f"load generator: {'wrk' if use_wrk else 'asyncio'}; {args.connections} connections; "
          f"{args.rounds} round(s) of {args.warmup:g} s warm-up + {args.seconds:g} s each; cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="rampart-audit-") as tmp:
        key, secret = _sign.generate_keys()
        specs = {audit: _spec(_servers.free_port(), Path(tmp) / f"data-{audit}", key, secret, audit)
                 for audit in (True, False)}
        results: dict[bool, list[_load.LoadResult]] = {True: [], False: []}
        with _servers.running(specs[True], Path(tmp)) as on, _servers.running(specs[False], Path(tmp)) as off:
            servers = {True: on, False: off}
            for audit, server in servers.items():
                _setup(f"http://{server.host}:{server.port}", key, secret, trail=audit and args.trail)
            pools = {audit: _pool(server, key, secret, args.pool) for audit, server in servers.items()}
            for number in range(1, args.rounds + 1):
                for audit, server in servers.items():
                    label = f"audit {'on ' if audit else 'off'} round {number}"
                    result = _servers.measure(server, pools[audit], seconds=args.seconds, warmup=args.warmup,
                                              connections=args.connections, use_wrk=use_wrk, label=label, probe=2)
                    results[audit].append(result)
                    if audit:
                        _report_history(on, key, secret, result)
            recorded = _recorded(on, key, secret)
        _report_throughput(results, recorded)


def _report_history(server: _servers.RunningServer, key: str, secret: str, result: _load.LoadResult) -> None:
    """How the round's CPU split between the server process and the history process, and how far the
    history lagged at the round's end (the time LookupEvents then waits for it to catch up)."""
    started = time.perf_counter()
    _recorded(server, key, secret)  # LookupEvents flushes: it answers once everything answered is stored
    lag = time.perf_counter() - started
    split = ""
    if result.server_cpu_us is not None and result.main_cpu_us is not None:
        split = (f"; CPU µs/req: server process {result.main_cpu_us:.0f}, "
                 f"history process {result.server_cpu_us - result.main_cpu_us:.0f}")
    print(f"    history caught up {lag:.2f} s after the round{split}", flush=True)


def _recorded(server: _servers.RunningServer, key: str, secret: str) -> int:
    """How many GetCallerIdentity events the audited server's history holds (one page's worth is enough)."""
    ct = _client(f"http://{server.host}:{server.port}", "cloudtrail", key, secret)
    page = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}])
    return len(page["Events"])


def _report_throughput(results: dict[bool, list[_load.LoadResult]], recorded: int) -> None:
    rps = {audit: _load.median([r.rps for r in runs]) for audit, runs in results.items()}
    cpu = {audit: _load.median([r.server_cpu_us for r in runs if r.server_cpu_us is not None])
           for audit, runs in results.items()}
    cost = 1 - rps[True] / rps[False] if rps[False] else float("nan")
    print(f"\naudit off:  {rps[False]:,.0f} req/s, {cpu[False]:.0f} server CPU-µs/req")
    print(f"audit on:   {rps[True]:,.0f} req/s, {cpu[True]:.0f} server CPU-µs/req "
          f"(LookupEvents sees the calls: {recorded} on the first page)")
    print(f"auditing cost: {cost:.1%} of throughput (target < 10%); "
          f"by server CPU: {1 - cpu[False] / cpu[True]:.1%} ({cpu[True] - cpu[False]:.0f} µs/req)")


# --- part 2: lookups over a large history --------------------------------------------


def _synthetic(count: int, start: dt.datetime) -> Any:
    """Batches of management events spread over the last 80 days, in time order."""
    from rampart.events.trail_record import TrailEvent

    step = dt.timedelta(days=80) / max(count, 1)
    batch: list[TrailEvent] = []
    for n in range(count):
        name, source = NAMES[n % len(NAMES)], SOURCES[n % len(SOURCES)]
        user = f"user-{n % 97}"
        arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
        body = {"eventVersion": "1.11", "eventName": name, "eventSource": source, "awsRegion": REGIONS[n % 2],
                "userIdentity": {"type": "IAMUser", "arn": arn, "userName": user}, "requestParameters": {"n": n}}
        batch.append(TrailEvent(str(uuid.uuid4()), ACCOUNT, REGIONS[n % 2], start + step * n, source, name,
                                n % 3 == 0, "Management", user, f"AKIABENCH{n % 211:011d}",
                                (("AWS::IAM::User", f"{user}-{n % 1009}"),), None, body))
        if len(batch) == 20_000:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(data_dir: Path, count: int) -> float:
    """Store ``count`` events in the data dir's database; returns seconds taken."""
    from rampart.config import Settings
    from rampart.gateway.app import build_gateway
    from rampart.services.cloudtrail.history import append_events

    settings = replace(Settings.from_env(), data_dir=data_dir)
    gateway = build_gateway(settings)
    began = time.perf_counter()
    start = gateway.clock.now() - dt.timedelta(days=81)
    done = 0
    for batch in _synthetic(count, start):
        append_events(gateway.db, batch)
        done += len(batch)
        if done % 200_000 == 0:
            print(f"  {done:,} events stored ({done / (time.perf_counter() - began):,.0f}/s)", flush=True)
    gateway.db.dispose()
    return time.perf_counter() - began


LOOKUPS = [
    ("(none)", None),
    ("EventName", "Decrypt"),
    ("EventSource", "kms.amazonaws.com"),
    ("ReadOnly", "true"),
    ("Username", "user-42"),
    ("AccessKeyId", "AKIABENCH00000000017"),
    ("ResourceType", "AWS::IAM::User"),
    ("ResourceName", "user-42-42"),
    ("EventId", None),  # filled in from a first lookup
]


def lookups(args: argparse.Namespace) -> None:
    """Fill a data dir, then time LookupEvents by each attribute against a server on it."""
    with tempfile.TemporaryDirectory(prefix="rampart-audit-lookup-") as tmp:
        data_dir = Path(tmp) / "data"
        key, secret = _sign.generate_keys()
        os.environ.update({"RAMPART_ROOT_ACCESS_KEY_ID": key, "RAMPART_ROOT_SECRET_ACCESS_KEY": secret})
        seconds = fill(data_dir, args.events)
        print(f"filled {args.events:,} events in {seconds:.1f} s ({args.events / seconds:,.0f} events/s)")
        spec = _servers.rampart_spec(_servers.free_port(), 1, data_dir, key, secret)
        with _servers.running(spec, Path(tmp)) as server:
            ct = _client(f"http://{server.host}:{server.port}", "cloudtrail", key, secret)
            for attribute, value in LOOKUPS:
                if attribute == "EventId":
                    value = ct.lookup_events(MaxResults=1)["Events"][0]["EventId"]
                _time_lookup(ct, attribute, value, args.repeat)


def _time_lookup(ct: Any, attribute: str, value: str | None, repeat: int) -> None:
    params: dict[str, Any] = {}
    if value is not None:
        params["LookupAttributes"] = [{"AttributeKey": attribute, "AttributeValue": value}]
    times, found = [], 0
    for _ in range(repeat):
        began = time.perf_counter()
        page = ct.lookup_events(**params)
        times.append((time.perf_counter() - began) * 1000)
        found = len(page["Events"])
        if "NextToken" in page:  # the second page too: a token lookup is a range scan from a position
            began = time.perf_counter()
            ct.lookup_events(**params, NextToken=page["NextToken"])
            times.append((time.perf_counter() - began) * 1000)
    print(f"LookupEvents by {attribute:<13} {statistics.median(times):7.1f} ms median, {max(times):7.1f} ms max "
          f"({found} events on a page)", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Run the chosen parts and print the figures."""
    args = _parser().parse_args(argv)
    if args.part in ("all", "throughput"):
        throughput(args)
    if args.part in ("all", "lookup"):
        lookups(args)


def _parser() -> argparse.ArgumentParser:
    parser = _load.add_load_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--part", choices=("all", "throughput", "lookup"), default="all")
    parser.add_argument("--no-trail", dest="trail", action="store_false", help="no trail on the audited server")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=10)
    return parser


if __name__ == "__main__":
    main()
