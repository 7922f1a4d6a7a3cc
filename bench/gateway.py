"""Signed sts:GetCallerIdentity throughput: Rampart vs a bare ASGI ceiling vs moto_server.

Usage (from the repository root, in the venv with ``moto[server]`` installed):

    python bench/gateway.py                       # 10 s, 64 connections, all three servers
    python bench/gateway.py --seconds 20 --connections 128 --workers 2
    python bench/gateway.py --servers rampart     # only Rampart
    python bench/gateway.py --rounds 3            # interleaved rounds, median shown (noisy machines)

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
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _load  # noqa: E402 - bench helpers live next to this script
import _servers  # noqa: E402
import _sign  # noqa: E402

SERVERS = ("bare", "moto", "rampart")


@dataclass(slots=True)
class Outcome:
    """One server's figures: the pre-check, the measured runs (one per round), the journal count."""

    name: str
    ok_precheck: int
    pool: int
    tampered_status: int
    loads: list[_load.LoadResult] = field(default_factory=list)
    sent: int = 0
    recorded: int | None = None

    @property
    def load(self) -> _load.LoadResult:
        """The round with the median throughput (the figures the table shows)."""
        return sorted(self.loads, key=lambda result: result.rps)[len(self.loads) // 2]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark with the command-line options and print the table."""
    args = _parser().parse_args(argv)
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and _load.have_wrk())
    generator = "wrk" if use_wrk else "asyncio (wrk not found)" if args.generator == "auto" else "asyncio"
    print(f"load generator: {generator}; {args.connections} connections, {args.threads} wrk thread(s), "
          f"{args.rounds} round(s) of {args.warmup:g} s warm-up + {args.seconds:g} s per server; "
          f"pool of {args.pool} signed requests; server workers: {args.workers}; cpus: {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="rampart-bench-") as tmp:
        outcomes = _bench_all(Path(tmp), args, use_wrk)
    _print_table(outcomes)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration per server and round")
    parser.add_argument("--warmup", type=float, default=2.0, help="discarded warm-up before each measured run")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; the table shows the median")
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


@dataclass(slots=True)
class _Target:
    server: _servers.RunningServer
    key_id: str
    secret: str
    outcome: Outcome | None = None


def _bench_all(tmp: Path, args: argparse.Namespace, use_wrk: bool) -> list[Outcome]:
    """Start every server, pre-check each, then measure them in interleaved rounds.

    Idle servers cost nothing, so keeping all of them up lets each round see
    the same background noise; the rounds' median damps the rest.
    """
    data_dir = tmp / "rampart-data"
    targets: list[_Target] = []
    with ExitStack() as stack:
        for name in args.servers:
            key_id, secret = _sign.generate_keys()
            spec = _spec(name, _servers.free_port(), args.workers, data_dir, key_id, secret)
            print(f"[{spec.name}] starting: {' '.join(spec.argv)}", flush=True)
            server = stack.enter_context(_servers.running(spec, tmp))
            targets.append(_Target(server, key_id, secret))
        for target in targets:
            target.outcome = _precheck_target(target, args.pool)
        for number in range(1, args.rounds + 1):
            for target in targets:
                _measure(target, args, use_wrk, number)
    outcomes = [target.outcome for target in targets if target.outcome is not None]
    for outcome in outcomes:
        if outcome.name == "rampart":
            outcome.recorded = _journal_lines(data_dir / "calls.jsonl")
    return outcomes


def _spec(name: str, port: int, workers: int, data_dir: Path, key_id: str, secret: str) -> _servers.ServerSpec:
    if name == "bare":
        return _servers.bare_spec(port, workers)
    if name == "moto":
        return _servers.moto_spec(port)
    return _servers.rampart_spec(port, workers, data_dir, key_id, secret)


def _precheck_target(target: _Target, size: int) -> Outcome:
    server = target.server
    pool = _sign.presign(server.host, server.port, target.key_id, target.secret, size)
    ok, first_failure = _precheck(server.host, server.port, pool)
    tampered = _send_once(server.host, server.port, _tampered(pool[0]))[0]
    name = server.spec.name
    print(f"[{name}] pre-check: {ok}/{len(pool)} answered 200; tampered signature -> {tampered}", flush=True)
    if first_failure:
        print(f"[{name}] first failure: {first_failure}", flush=True)
    return Outcome(name, ok, len(pool), tampered, sent=len(pool) + 1)


def _measure(target: _Target, args: argparse.Namespace, use_wrk: bool, number: int) -> None:
    """One warm-up and one measured run, with a pool signed just now (signatures age)."""
    server, outcome = target.server, target.outcome
    assert outcome is not None
    pool = _sign.presign(server.host, server.port, target.key_id, target.secret, args.pool)
    raw = [request.raw() for request in pool]
    warm = _load.run_load(raw, server.host, server.port, args.warmup, args.connections, args.threads, use_wrk)
    cpu_before = _servers.cpu_seconds(server.process.pid)
    load = _load.run_load(raw, server.host, server.port, args.seconds, args.connections, args.threads, use_wrk)
    cpu_after = _servers.cpu_seconds(server.process.pid)
    if cpu_before is not None and cpu_after is not None and load.requests:
        load = replace(load, server_cpu_us=(cpu_after - cpu_before) / load.requests * 1e6)
    outcome.loads.append(load)
    outcome.sent += warm.requests + load.requests
    print(f"[{outcome.name}] round {number}: {load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms, "
          f"p99 {load.p99_ms:.2f} ms, server CPU {_cpu(load)} µs/req, non-2xx {load.non_2xx}, "
          f"socket errors {load.socket_errors}", flush=True)


def _cpu(load: _load.LoadResult) -> str:
    return "n/a" if load.server_cpu_us is None else f"{load.server_cpu_us:.0f}"


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
    print("\n| server | req/s | p50 ms | p99 ms | server CPU µs/req | non-2xx | socket errors | pre-check 200s "
          "| tampered sig | calls recorded |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for o in outcomes:
        recorded = "n/a" if o.recorded is None else f"{o.recorded:,} of ≥{o.sent:,}"
        print(f"| {o.name} | {o.load.rps:,.0f} | {o.load.p50_ms:.2f} | {o.load.p99_ms:.2f} | {_cpu(o.load)} | {o.load.non_2xx:,} "
              f"| {o.load.socket_errors:,} | {o.ok_precheck}/{o.pool} | {o.tampered_status} | {recorded} |")
    by_name = {o.name: o for o in outcomes}
    rampart = by_name.get("rampart")
    if rampart is None:
        return
    for other, target in (("moto_server", "target ≥ 3×"), ("bare-asgi", "target ≥ 0.40")):
        if other in by_name:
            ratios = sorted(r.rps / o.rps for r, o in zip(rampart.loads, by_name[other].loads) if o.rps)
            rounds = ", ".join(f"{ratio:.2f}" for ratio in ratios) if len(ratios) > 1 else ""
            median = ratios[len(ratios) // 2] if ratios else 0.0
            print(f"rampart / {other}: {median:.2f}  ({target})" + (f"  per round: {rounds}" if rounds else ""))
    _print_cpu_ratio(rampart, by_name.get("bare-asgi"))


def _print_cpu_ratio(rampart: Outcome, bare: Outcome | None) -> None:
    """CPU per request relative to the ceiling: the noise-resistant view of the same ratio."""
    if bare is None or rampart.load.server_cpu_us is None or not bare.load.server_cpu_us:
        return
    share = bare.load.server_cpu_us / rampart.load.server_cpu_us
    print(f"bare-asgi CPU/req ÷ rampart CPU/req: {share:.2f}  (throughput share if the server had a core to itself)")


if __name__ == "__main__":
    main()
