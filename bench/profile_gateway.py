"""Where a signed GetCallerIdentity spends its time inside ``pipeline.handle``.

Calls the pipeline directly (no sockets, no uvicorn) with pre-built
HttpRequests, first timed plainly (µs per call), then under cProfile, and
prints the hot functions with their cost in µs per request. Pairs with
``gateway.py``: that one says how fast, this one says where the time goes.

    python bench/profile_gateway.py --calls 5000
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _sign  # noqa: E402 - bench helpers live next to this script

from rampart.config import Settings  # noqa: E402
from rampart.gateway import registry  # noqa: E402
from rampart.gateway.app import build_gateway  # noqa: E402
from rampart.gateway.context import Gateway  # noqa: E402
from rampart.gateway.http import HttpRequest  # noqa: E402
from rampart.gateway.pipeline import handle  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Build a gateway on a temporary data dir, time and profile ``handle``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per phase (timed, profiled)")
    parser.add_argument("--pool", type=int, default=200, help="distinct pre-signed requests")
    parser.add_argument("--top", type=int, default=30, help="functions to list")
    args = parser.parse_args(argv)
    key_id, secret = _sign.generate_keys()
    with tempfile.TemporaryDirectory(prefix="rampart-profile-") as tmp:
        settings = Settings(data_dir=Path(tmp), root_access_key_id=key_id, root_secret_access_key=secret)
        registry.load_services()
        gateway = build_gateway(settings)
        try:
            _run(gateway, _requests(key_id, secret, args.pool), args)
        finally:
            gateway.bus.close()  # delivers whatever is still queued


def _requests(key_id: str, secret: str, count: int) -> list[HttpRequest]:
    pool = _sign.presign("127.0.0.1", 4566, key_id, secret, count)
    return [
        HttpRequest(
            method=r.method, path=r.path, headers={k.lower(): v for k, v in r.headers}, body=r.body.encode()
        )
        for r in pool
    ]


def _timed(gateway: Gateway, requests: list[HttpRequest], calls: int) -> tuple[float, float]:
    """CPU seconds of this process spent in ``calls`` calls of handle, and in delivering their records.

    Records are delivered after every 20 calls, on this thread, as the
    server's 5 ms event-loop pump does at ~4,000 calls/s. CPU time, not wall
    time: on a shared machine other processes' load would otherwise show up
    as Rampart's cost.
    """
    clock = time.process_time
    in_handle = in_delivery = 0.0
    for start in range(0, calls, 20):
        started = clock()
        for i in range(start, min(start + 20, calls)):
            handle(requests[i % len(requests)], gateway)
        delivering = clock()
        gateway.bus.deliver_pending()
        in_handle += delivering - started
        in_delivery += clock() - delivering
    return in_handle, in_delivery


def _run(gateway: Gateway, requests: list[HttpRequest], args: argparse.Namespace) -> None:
    """The pipeline's and the record delivery's CPU per call, then the profile of handle.

    Delivery runs on the calling thread, as the server's event-loop pump does
    (``bus.deliver_pending``): no second thread, so no GIL handoffs charged to
    whatever released the GIL.
    """
    statuses = {handle(r, gateway).status for r in requests}  # warm caches; every call should be a 200
    print(f"warm-up statuses: {sorted(statuses)}")
    calls = args.calls
    gateway.bus.deliver_pending()
    in_handle, in_delivery = _timed(gateway, requests, calls)
    alone, delivery = in_handle / calls * 1e6, in_delivery / calls * 1e6
    both = alone + delivery
    print(f"handle():                       {alone:7.1f} CPU-µs per call ({1e6 / alone:,.0f} calls/s on one core)")
    print(f"record delivery (journal):      {delivery:7.1f} CPU-µs per record (batches of 20)")
    print(f"handle() + delivery, together: {both:7.1f} CPU-µs per call ({1e6 / both:,.0f} calls/s)")
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(calls):
        handle(requests[i % len(requests)], gateway)
    profiler.disable()
    gateway.bus.deliver_pending()
    print("\nprofile of handle() (records delivered afterwards):")
    _report(pstats.Stats(profiler), calls, args.top, alone)


def _report(stats: pstats.Stats, calls: int, top: int, real_us: float) -> None:
    """Two lists: by own time (where the CPU burns), by cumulative time (which stage).

    The profiler roughly doubles the cost of every Python call, so besides
    its raw figure each row shows an estimate: the function's share of the
    profiled total applied to the unprofiled time per call.
    """
    rows = stats.stats  # type: ignore[attr-defined]  # pstats keeps its table here
    total = stats.total_tt  # type: ignore[attr-defined]
    for title, column in (("own time", 2), ("cumulative", 3)):
        print(f"\n-- top {top} by {title}: est. µs per request (share × {real_us:.0f} µs), profiled µs, calls --")
        ranked = sorted(rows.items(), key=lambda item: item[1][column], reverse=True)[:top]
        for (path, line, name), entry in ranked:
            where = f"{_short(path)}:{line}({name})"
            estimate = entry[column] / total * real_us
            print(f"{estimate:7.1f} µs  {entry[column] / calls * 1e6:8.1f} µs  {entry[1] / calls:5.1f}  {where}")


def _short(path: str) -> str:
    for marker in ("/src/", "/site-packages/", "/lib/python"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


if __name__ == "__main__":
    main()
