"""Signed sts:GetCallerIdentity throughput: Rampart vs a bare ASGI ceiling vs moto_server.

Usage (from the repository root, in the venv with ``moto[server]`` installed):

    python bench/gateway.py                       # 10 s, 64 connections, all three servers
    python bench/gateway.py --seconds 20 --connections 128 --workers 2
    python bench/gateway.py --servers rampart     # only Rampart

Every server gets the same load: a pool of requests pre-signed with botocore's
SigV4 signer, replayed over keep-alive connections by wrk (or an asyncio
client when wrk is missing). Before measuring, each server answers every
request of the pool once (all must be 200) and one request with a tampered
signature (Rampart must refuse it: proof the signatures are checked). After
Rampart stops, its call journal is counted: every answered call is recorded.
Prints figures and ratios; it never passes or fails.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _load  # noqa: E402 - bench helpers live next to this script
import _servers  # noqa: E402
import _sign  # noqa: E402

SERVERS = ("bare", "moto", "rampart")


@dataclass(slots=True)
class Outcome:
    """One server's figures: the pre-check, the measured load, the journal count."""

    name: str
    ok_precheck: int
    pool: int
    tampered_status: int
    load: _load.LoadResult
    sent: int
    recorded: int | None = None


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark with the command-line options and print the table."""
    args = _parser().parse_args(argv)
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and _load.have_wrk())
    generator = "wrk" if use_wrk else "asyncio (wrk not found)" if args.generator == "auto" else "asyncio"
    print(f"load generator: {generator}; {args.connections} connections, {args.threads} wrk thread(s), "
          f"{args.warmup:g} s warm-up + {args.seconds:g} s per server; pool of {args.pool} signed requests; "
          f"server workers: {args.workers}; cpus: {os.cpu_count()}", flush=True)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="rampart-bench-") as tmp:
        for name in args.servers:
            outcomes.append(_bench_one(name, Path(tmp), args, use_wrk))
    _print_table(outcomes)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration per server")
    parser.add_argument("--warmup", type=float, default=2.0, help="discarded warm-up per server")
    parser.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (the generator competes for CPU)")
    parser.add_argument("--workers", type=int, default=1, help="server processes for rampart and the bare app")
    parser.add_argument("--pool", type=int, default=200, help="distinct pre-signed requests to replay")
    parser.add_argument("--generator", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument("--servers", type=_server_list, default=list(SERVERS),
                        help="comma-separated subset of " + ",".join(SERVERS))
    return parser


def _server_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - set(SERVERS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown server(s) {unknown}; choose from {', '.join(SERVERS)}")
    return names


def _bench_one(name: str, tmp: Path, args: argparse.Namespace, use_wrk: bool) -> Outcome:
    port = _servers.free_port()
    key_id, secret = _sign.generate_keys()
    data_dir = tmp / "rampart-data"
    spec = {
        "bare": lambda: _servers.bare_spec(port, args.workers),
        "moto": lambda: _servers.moto_spec(port),
        "rampart": lambda: _servers.rampart_spec(port, args.workers, data_dir, key_id, secret),
    }[name]()
    print(f"\n[{spec.name}] starting: {' '.join(spec.argv)}", flush=True)
    with _servers.running(spec, port, tmp) as server:
        pool = _sign.presign(server.host, port, key_id, secret, args.pool)
        ok, first_failure = _precheck(server.host, port, pool)
        tampered = _send_once(server.host, port, _tampered(pool[0]))[0]
        print(f"[{spec.name}] pre-check: {ok}/{len(pool)} answered 200; tampered signature -> {tampered}", flush=True)
        if first_failure:
            print(f"[{spec.name}] first failure: {first_failure}", flush=True)
        raw = [request.raw() for request in pool]
        warm = _load.run_load(raw, server.host, port, args.warmup, args.connections, args.threads, use_wrk)
        load = _load.run_load(raw, server.host, port, args.seconds, args.connections, args.threads, use_wrk)
        print(f"[{spec.name}] {load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, "
              f"non-2xx {load.non_2xx}, socket errors {load.socket_errors}", flush=True)
    sent = len(pool) + 1 + warm.requests + load.requests
    outcome = Outcome(spec.name, ok, len(pool), tampered, load, sent)
    if name == "rampart":
        outcome.recorded = _journal_lines(data_dir / "calls.jsonl")
    return outcome


def _precheck(host: str, port: int, pool: list[_sign.SignedRequest]) -> tuple[int, str]:
    """Send each request once; count the 200s and describe the first failure."""
    ok, failure = 0, ""
    for request in pool:
        status, body = _send_once(host, port, request)
        if status == 200:
            ok += 1
        elif not failure:
            failure = f"HTTP {status}: {body[:300]!r}"
    return ok, failure


def _send_once(host: str, port: int, request: _sign.SignedRequest) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request(request.method, request.path, body=request.body.encode(), headers=dict(request.headers))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _tampered(request: _sign.SignedRequest) -> _sign.SignedRequest:
    """The same request with one signature hex digit changed."""
    headers = []
    for name, value in request.headers:
        if name.lower() == "authorization":
            value = value[:-1] + ("0" if value[-1] != "0" else "1")
        headers.append((name, value))
    return replace(request, headers=tuple(headers))


def _journal_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as journal:
        return sum(1 for _ in journal)


def _print_table(outcomes: list[Outcome]) -> None:
    print("\n| server | req/s | p50 ms | p99 ms | non-2xx | socket errors | pre-check 200s | tampered sig | calls recorded |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for o in outcomes:
        recorded = "n/a" if o.recorded is None else f"{o.recorded:,} of ≥{o.sent:,}"
        print(f"| {o.name} | {o.load.rps:,.0f} | {o.load.p50_ms:.2f} | {o.load.p99_ms:.2f} | {o.load.non_2xx:,} "
              f"| {o.load.socket_errors:,} | {o.ok_precheck}/{o.pool} | {o.tampered_status} | {recorded} |")
    by_name = {o.name: o.load.rps for o in outcomes}
    rampart = by_name.get("rampart")
    if rampart:
        for other, target in (("moto_server", "target ≥ 3×"), ("bare-asgi", "target ≥ 0.40")):
            if by_name.get(other):
                print(f"rampart / {other}: {rampart / by_name[other]:.2f}  ({target})")


if __name__ == "__main__":
    main()
