"""Load generators that replay pre-signed requests over keep-alive connections.

wrk (C, one event loop per thread) is preferred: on a 2-core machine the
generator competes with the server for CPU, and wrk spends far less per
request than any Python client. Without wrk, an asyncio raw-socket HTTP/1.1
client does the same job, more expensively; the result says which one ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_MARK = "BENCH_JSON "
# Lua for wrk: each thread cycles through the pre-signed pool from its own
# offset; ``done`` prints one JSON line with the counts and percentiles (us).
_LUA_TAIL = r"""
local counter = 0
function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end
local i = 0
function init(args)
  i = (offset or 0) % #reqs
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one measured run produced; latencies in milliseconds."""

    generator: str
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    server_cpu_us: float | None = None  # CPU of the server's processes per request, filled by the caller
    main_cpu_us: float | None = None  # of which the server's own process (not its helper processes)

    @property
    def rps(self) -> float:
        """Completed requests per second (error answers included; see ``non_2xx``)."""
        return self.requests / self.duration_s if self.duration_s else 0.0


def median(values: list[float]) -> float:
    """The middle of the rounds (the upper middle for an even count); NaN for none."""
    return sorted(values)[len(values) // 2] if values else float("nan")


def have_wrk() -> bool:
    """Whether the wrk binary is on PATH."""
    return shutil.which("wrk") is not None


def run_load(
    raw: list[bytes], host: str, port: int, seconds: float, connections: int, threads: int, use_wrk: bool
) -> LoadResult:
    """Replay ``raw`` (complete HTTP/1.1 requests) against host:port for ``seconds``."""
    if use_wrk:
        return run_wrk(raw, host, port, seconds, connections, threads)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(run_asyncio(raw, host, port, seconds, connections))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (uvicorn's own choice): the fallback client needs every cycle."""
    try:
        import uvloop  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_wrk(raw: list[bytes], host: str, port: int, seconds: float, connections: int, threads: int) -> LoadResult:
    """One wrk run with a generated Lua script holding the request pool."""
    with tempfile.TemporaryDirectory(prefix="rampart-bench-") as tmp:
        script = Path(tmp) / "replay.lua"
        script.write_text(_lua_script(raw), encoding="latin-1")
        argv = ["wrk", "-t", str(max(1, min(threads, connections))), "-c", str(connections)]
        argv += ["-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), f"http://{host}:{port}/"]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return _parse_wrk(done.stdout)


def _lua_script(raw: list[bytes]) -> str:
    entries = ",\n".join(_lua_string(request) for request in raw)
    return f"reqs = {{\n{entries}\n}}\n{_LUA_TAIL}"


def _lua_string(data: bytes) -> str:
    """A quoted Lua literal with every byte outside printable ASCII escaped.

    Long brackets (``[[...]]``) would be simpler but Lua folds CR LF to LF in
    them, which breaks HTTP framing.
    """
    parts = []
    for byte in data:
        char = chr(byte)
        parts.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(parts) + '"'


def _parse_wrk(stdout: str) -> LoadResult:
    line = next((ln for ln in stdout.splitlines() if ln.startswith(_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{stdout}")
    data = json.loads(line[len(_MARK) :])
    socket_errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return LoadResult(
        generator="wrk",
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        non_2xx=data["status_errors"],
        socket_errors=socket_errors,
    )


@dataclass(slots=True)
class _Tally:
    latencies: list[float]
    non_2xx: int = 0
    socket_errors: int = 0


async def run_asyncio(raw: list[bytes], host: str, port: int, seconds: float, connections: int) -> LoadResult:
    """The fallback generator: ``connections`` keep-alive sockets in one event loop."""
    tally = _Tally(latencies=[])
    started = time.perf_counter()
    deadline = started + seconds
    workers = [_connection_loop(raw, i * 7919, host, port, deadline, tally) for i in range(connections)]
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies)
    return LoadResult(
        generator="asyncio",
        requests=len(ordered),
        duration_s=elapsed,
        p50_ms=_percentile(ordered, 50) * 1e3,
        p99_ms=_percentile(ordered, 99) * 1e3,
        non_2xx=tally.non_2xx,
        socket_errors=tally.socket_errors,
    )


def _percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


async def _connection_loop(raw: list[bytes], offset: int, host: str, port: int, deadline: float, tally: _Tally) -> None:
    index = offset
    stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.perf_counter() < deadline:
        try:
            if stream is None:
                stream = await asyncio.open_connection(host, port)
            sent = time.perf_counter()
            stream[1].write(raw[index % len(raw)])
            status, keep_alive = await _read_response(stream[0])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally.socket_errors += 1
            stream = _close(stream)
            continue
        tally.latencies.append(time.perf_counter() - sent)
        tally.non_2xx += status >= 400
        index += 1
        if not keep_alive:
            stream = _close(stream)
    _close(stream)


def _close(stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if stream is not None:
        stream[1].close()
    return None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; returns (status, connection stays open). Raises ValueError on garbage."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    version, status = head[0].split(" ", 2)[:2]
    fields = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip().lower()
    if fields.get("transfer-encoding") == "chunked":
        await _read_chunked(reader)
    else:
        await reader.readexactly(int(fields.get("content-length", "0")))
    closing = fields.get("connection") == "close" or (version == "HTTP/1.0" and fields.get("connection") != "keep-alive")
    return int(status), not closing


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


def add_load_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every load-driven benchmark takes: round length, warm-up, rounds, connections,
    the pool of pre-signed requests and the generator."""
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pool", type=int, default=200)
    parser.add_argument("--generator", choices=("auto", "asyncio"), default="auto")
    return parser
