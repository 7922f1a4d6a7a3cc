"""Where a PutObject / GetObject spends its time inside ``pipeline.handle`` (no sockets).

Builds a gateway on a temporary data dir, creates a bucket, then times
``calls`` signed PUTs (UNSIGNED-PAYLOAD, as the throughput benchmark sends)
and GETs of ``--size`` bytes: wall and CPU µs per call (the gap is mostly
fsync), then profiles each and lists the hot functions.

    python bench/profile_s3.py --size 4096 --calls 2000
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _sign

from rampart.config import Settings
from rampart.gateway import registry
from rampart.gateway.app import build_gateway
from rampart.gateway.context import Gateway
from rampart.gateway.http import HttpRequest
from rampart.gateway.pipeline import handle


class _Unsigned(S3SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


def _request(creds: Credentials, method: str, path: str, body: bytes = b"") -> HttpRequest:
    headers = {"Content-Length": str(len(body))} if method == "PUT" else {}
    aws = AWSRequest(method, f"http://127.0.0.1:4566{path}", headers=headers)
    _Unsigned(creds, "s3", "us-east-1").add_auth(aws)
    lowered = {k.lower(): v for k, v in aws.headers.items()}
    lowered["host"] = "127.0.0.1:4566"
    return HttpRequest(method, path, "", lowered, body)


def _time(gateway: Gateway, requests: list[HttpRequest]) -> tuple[float, float, set[int]]:
    wall, cpu = time.perf_counter(), time.process_time()
    statuses = set()
    for request in requests:
        response = handle(request, gateway)
        statuses.add(response.status)
        if response.stream is not None:
            for _ in response.stream.chunks():
                pass
            response.stream.close()
    gateway.bus.deliver_pending()
    n = len(requests)
    return (time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    key_id, secret = _sign.generate_keys()
    creds = Credentials(key_id, secret)
    body = os.urandom(args.size)
    with tempfile.TemporaryDirectory(prefix="rampart-profile-s3-", dir=os.environ.get("BENCH_TMP")) as tmp:
        settings = Settings(data_dir=Path(tmp), root_access_key_id=key_id, root_secret_access_key=secret)
        registry.load_services()
        gateway = build_gateway(settings)
        try:
            assert handle(_request(creds, "PUT", "/prof-bucket"), gateway).status == 200
            for phase in ("timed", "profiled"):
                paths = [f"/prof-bucket/{phase}-{i}" for i in range(args.calls)]
                puts = [_request(creds, "PUT", p, body) for p in paths]
                gets = [_request(creds, "GET", p) for p in paths]
                if phase == "timed":
                    for name, pool in (("PUT", puts), ("GET", gets)):
                        wall, cpu, statuses = _time(gateway, pool)
                        print(f"{name} {args.size} B: {wall:8.1f} wall-µs {cpu:8.1f} CPU-µs per call "
                              f"statuses {sorted(statuses)}")
                elif not args.no_profile:
                    for name, pool in (("PUT", puts), ("GET", gets)):
                        profiler = cProfile.Profile()
                        profiler.enable()
                        _time(gateway, pool)
                        profiler.disable()
                        print(f"\n== {name} profile, top {args.top} by own time (µs per call) ==")
                        _report(pstats.Stats(profiler), args.calls, args.top)
        finally:
            gateway.bus.close()


def _report(stats: pstats.Stats, calls: int, top: int) -> None:
    rows = stats.stats  # type: ignore[attr-defined]
    for title, column in (("own", 2), ("cumulative", 3)):
        print(f"-- by {title} --")
        for (path, line, name), entry in sorted(rows.items(), key=lambda i: i[1][column], reverse=True)[:top]:
            short = path.split("/src/", 1)[-1].split("/site-packages/", 1)[-1].split("/lib/python", 1)[-1]
            print(f"{entry[column] / calls * 1e6:8.1f} µs {entry[1] / calls:6.1f}x  {short}:{line}({name})")


if __name__ == "__main__":
    main()
