"""S3 data-path throughput, Rampart next to moto_server, and Rampart's peak memory during a 1 GB upload.

For each object size (4 KB, 1 MB, 100 MB by default) and each server: PUT
``count`` objects, then GET each back in full, from ``--threads`` client
threads on keep-alive connections. Requests are signed with botocore's
S3SigV4Auth (UNSIGNED-PAYLOAD, as SDKs send over HTTPS), so the client
spends nothing hashing bodies. Prints MB/s and requests/s per operation and
the ratio rampart/moto. Then Rampart alone receives a 1 GB PUT streamed from
a generator and its peak RSS (VmHWM) is read before and after.

    python bench/s3.py
    python bench/s3.py --sizes 4096,1048576 --threads 8 --rounds 5 --skip-memory
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import string
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import have_wrk, median, run_load
from _servers import cpu_seconds, free_port, moto_spec, rampart_spec, running

MB = 1024 * 1024
DEFAULT_COUNTS = {4096: 400, MB: 100, 100 * MB: 3}


@dataclass(slots=True)
class Target:
    """One server under test and how to sign for it."""

    name: str
    port: int
    credentials: Credentials
    pid: int = 0  # the server process (its CPU time is read around each measurement)


@dataclass(slots=True)
class Figure:
    """One measured operation: seconds for ``count`` requests of ``size`` bytes."""

    server: str
    operation: str
    size: int
    count: int
    seconds: float
    failures: int
    cpu_s: float | None = None  # CPU seconds the server process used for these requests

    @property
    def cpu_us(self) -> float | None:
        """Server CPU per request (µs): unlike the wall clock, hardly moved by other load on the machine."""
        return self.cpu_s / self.count * 1e6 if self.cpu_s is not None and self.count else None

    @property
    def mb_per_s(self) -> float:
        return self.size * self.count / MB / self.seconds

    @property
    def req_per_s(self) -> float:
        return self.count / self.seconds


_local = threading.local()


def _connection(port: int) -> http.client.HTTPConnection:
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    if port not in conns:
        conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    return conns[port]


class _UnsignedPayload(S3SigV4Auth):
    """botocore's S3 signer with UNSIGNED-PAYLOAD (over plain HTTP it would hash the body)."""

    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


def _signed(target: Target, method: str, path: str, length: int | None = None) -> dict[str, str]:
    headers = {"Content-Length": str(length)} if length is not None else {}
    request = AWSRequest(method, f"http://127.0.0.1:{target.port}{path}", headers=headers)
    _UnsignedPayload(target.credentials, "s3", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def _send(target: Target, method: str, path: str, body: object = None, length: int | None = None,
          headers: dict[str, str] | None = None) -> int:
    """One request on this thread's keep-alive connection; the response body is read and dropped."""
    conn = _connection(target.port)
    try:
        conn.request(method, path, body=body, headers=headers or _signed(target, method, path, length))
        response = conn.getresponse()
        while response.read(MB):
            pass
        return response.status
    except (http.client.HTTPException, OSError):
        conn.close()
        _local.conns.pop(target.port, None)
        return 599


def _timed(threads: int, count: int, work: Callable[[int], int]) -> tuple[float, int]:
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(work, range(count)))
    return time.perf_counter() - start, sum(1 for s in statuses if s >= 300)


def measure(target: Target, bucket: str, size: int, count: int, threads: int) -> list[Figure]:
    """PUT then GET ``count`` objects of ``size`` bytes from client threads (the large sizes)."""
    body = os.urandom(size)
    width = threads if size <= MB else 1
    paths = [f"/{bucket}/o{size}-{i}" for i in range(count)]
    puts = [_signed(target, "PUT", p, size) for p in paths]
    gets = [_signed(target, "GET", p) for p in paths]
    cpu = _Cpu(target.pid)
    put_s, put_fail = _timed(width, count, lambda i: _send(target, "PUT", paths[i], body, size, puts[i]))
    put_cpu = cpu.lap()
    get_s, get_fail = _timed(width, count, lambda i: _send(target, "GET", paths[i], headers=gets[i]))
    return [Figure(target.name, "PUT", size, count, put_s, put_fail, put_cpu),
            Figure(target.name, "GET", size, count, get_s, get_fail, cpu.lap())]


class _Cpu:
    """The server's CPU seconds between laps."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.last = cpu_seconds(pid) if pid else None

    def lap(self) -> float | None:
        now = cpu_seconds(self.pid) if self.pid else None
        used = now - self.last if now is not None and self.last is not None else None
        self.last = now
        return used


def _raw(target: Target, method: str, path: str, body: bytes = b"") -> bytes:
    """One complete HTTP/1.1 request, signed now (valid for the SigV4 window)."""
    headers = _signed(target, method, path, len(body) if method == "PUT" else None)
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{target.port}"]
    head += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def measure_replay(target: Target, bucket: str, size: int, seconds: float, connections: int,
                   use_wrk: bool) -> list[Figure]:
    """Small objects: a pool of pre-signed raw requests replayed for ``seconds`` by the load generator
    (wrk when chosen, else asyncio sockets), PUTs first, then GETs of what was written.

    wrk's pool holds 16 keys above 64 KiB (its Lua script embeds every body), 64 otherwise."""
    body = os.urandom(size)
    paths = [f"/{bucket}/r{size}-{i}" for i in range(16 if use_wrk and size > 64 * 1024 else 64)]
    figures = []
    for method, pool in (("PUT", [_raw(target, "PUT", p, body) for p in paths]),
                         ("GET", [_raw(target, "GET", p) for p in paths])):
        cpu = _Cpu(target.pid)
        result = run_load(pool, "127.0.0.1", target.port, seconds, connections, 1, use_wrk=use_wrk)
        figures.append(Figure(target.name, method, size, result.requests, result.duration_s,
                              result.non_2xx + result.socket_errors, cpu.lap()))
    return figures


class _Generated:
    """A request body of ``size`` bytes made on the fly (nothing held in the client's memory)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = os.urandom(MB)

    def read(self, amount: int = MB) -> bytes:
        take = min(amount if amount > 0 else MB, self.left, MB)
        self.left -= take
        return self.block[:take]


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_check(target: Target, pid: int, bucket: str, size: int) -> tuple[float, float, float, int, int]:
    """(peak RSS before, after PUT, after GET, PUT status, GET status) for one ``size``-byte object."""
    before = peak_rss_mib(pid)
    stale = getattr(_local, "conns", {}).pop(target.port, None)
    if stale is not None:  # idle since the bucket was made: the server's keep-alive timeout closed it
        stale.close()
    put = _send(target, "PUT", f"/{bucket}/huge", _Generated(size), size)
    after_put = peak_rss_mib(pid)
    got = _send(target, "GET", f"/{bucket}/huge")
    return before, after_put, peak_rss_mib(pid), put, got


def _keys() -> tuple[str, str]:
    key_id = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    return key_id, "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def _report(figures: list[Figure]) -> None:
    """Median round per (server, operation, size); ratios are medians of the per-round ratios."""
    groups: dict[tuple[str, str, int], list[Figure]] = {}
    for f in figures:
        groups.setdefault((f.server, f.operation, f.size), []).append(f)
    print(f"{'server':<12} {'op':<4} {'size':>10} {'count':>6} {'MB/s':>9} {'req/s':>9} {'CPU-µs/req':>11} "
          f"{'fail':>5} {'rounds':>6}")
    print("(count: requests of one round; CPU-µs/req: the server process's CPU time per request, median round)")
    for (server, operation, size), runs in groups.items():
        rate = median([r.req_per_s for r in runs])
        fails = sum(r.failures for r in runs)
        cpus = [r.cpu_us for r in runs if r.cpu_us is not None]
        cpu = f"{median(cpus):11.0f}" if cpus else f"{'-':>11}"
        print(f"{server:<12} {operation:<4} {size:>10} {runs[0].count:>6} {rate * size / MB:>9.1f} {rate:>9.1f} "
              f"{cpu} {fails:>5} {len(runs):>6}")
    print("\nratio rampart/moto_server, median of rounds (target >= 3x):")
    for (server, operation, size), runs in groups.items():
        others = groups.get(("moto_server", operation, size))
        if server == "rampart" and others:
            ratios = [r.req_per_s / o.req_per_s for r, o in zip(runs, others, strict=False)]
            print(f"  {operation:<4} {size:>10} B: {median(ratios):5.2f}x  (rounds: "
                  f"{', '.join(f'{x:.2f}' for x in ratios)})")
    print("\nserver CPU per request, moto_server/rampart (how many times less CPU Rampart spends per request):")
    for (server, operation, size), runs in groups.items():
        others = groups.get(("moto_server", operation, size))
        if server == "rampart" and others:
            mine = [r.cpu_us for r in runs if r.cpu_us]
            theirs = [o.cpu_us for o in others if o.cpu_us]
            if mine and theirs:
                print(f"  {operation:<4} {size:>10} B: {median(theirs) / median(mine):5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="4096,1048576,104857600")
    parser.add_argument("--threads", type=int, default=4, help="client threads for the large sizes")
    parser.add_argument("--connections", type=int, default=8, help="connections for sizes up to 1 MB")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per small-size run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (order alternates)")
    parser.add_argument("--memory-bytes", type=int, default=1024 * MB)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--client", choices=("wrk", "asyncio"), default="wrk" if have_wrk() else "asyncio",
                        help="load generator for sizes up to 1 MB (wrk, one thread, when installed: it leaves "
                             "the 2 cores to the servers; asyncio: Python sockets)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    key_id, secret = _keys()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="rampart-bench-s3-") as tmp, ExitStack() as stack:
        tmp_dir = Path(tmp)
        rampart_port, moto_port = free_port(), free_port()
        rampart = stack.enter_context(running(rampart_spec(rampart_port, 1, tmp_dir / "data", key_id, secret),
                                              tmp_dir))
        moto = stack.enter_context(running(moto_spec(moto_port), tmp_dir))
        targets = [Target("rampart", rampart_port, Credentials(key_id, secret), rampart.process.pid),
                   Target("moto_server", moto_port, Credentials(key_id, secret), moto.process.pid)]
        bucket = "bench-" + secrets.token_hex(6)
        for target in targets:
            assert _send(target, "PUT", f"/{bucket}") < 300, f"could not create the bucket on {target.name}"
        for size in sizes:
            for round_number in range(args.rounds):
                order = targets if round_number % 2 == 0 else list(reversed(targets))
                for target in order:
                    if size <= MB:
                        figures += measure_replay(target, bucket, size, args.seconds, args.connections,
                                                  args.client == "wrk")
                    else:
                        figures += measure(target, bucket, size, DEFAULT_COUNTS.get(size, 20), args.threads)
        if not args.skip_memory:
            before, after_put, after_get, put, got = memory_check(targets[0], rampart.process.pid, bucket,
                                                                  args.memory_bytes)
            print(f"rampart peak RSS (VmHWM): {before:.0f} MiB before, {after_put:.0f} MiB after a "
                  f"{args.memory_bytes // MB} MiB PUT (status {put}), {after_get:.0f} MiB after its GET "
                  f"(status {got})")
    print(f"load generator up to 1 MB: {args.client}")
    _report(figures)


if __name__ == "__main__":
    main()
