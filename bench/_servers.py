"""Start the servers under test as subprocesses on free ports, and stop them cleanly.

Each server is a plain command line; readiness is "answers an HTTP request",
so the harness treats Rampart, the bare ASGI app and moto_server alike.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import _load

BENCH_DIR = Path(__file__).resolve().parent
# The uvicorn options ``rampart serve --quiet`` ends up with (httptools and
# uvloop are what uvicorn's "auto" picks when installed); the ceiling runs with the same.
UVICORN_OPTIONS = [
    "--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning", "--no-server-header",
]


@dataclass(slots=True)
class ServerSpec:
    """How to start one server: its name, its argv, extra environment."""

    name: str
    port: int
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/"


@dataclass(slots=True)
class RunningServer:
    """A started server: where it listens and its process (for profilers)."""

    spec: ServerSpec
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    """A console script next to this interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def bare_spec(port: int, workers: int) -> ServerSpec:
    """uvicorn serving the fixed-body app, with Rampart's uvicorn options."""
    argv = [tool("uvicorn"), "--app-dir", str(BENCH_DIR), "_bare_app:app", "--port", str(port)]
    argv += UVICORN_OPTIONS + (["--workers", str(workers)] if workers > 1 else [])
    return ServerSpec("bare-asgi", port, argv)


def moto_spec(port: int) -> ServerSpec:
    """moto_server, single process as its CLI runs it."""
    return ServerSpec("moto_server", port, [tool("moto_server"), "-H", "127.0.0.1", "-p", str(port)])


def rampart_spec(port: int, workers: int, data_dir: Path, key_id: str, secret: str) -> ServerSpec:
    """``rampart serve --quiet`` (no access log, like the ceiling) on its embedded SQLite, with the bench's keys."""
    argv = [tool("rampart"), "serve", "--quiet", "--port", str(port), "--data-dir", str(data_dir)]
    argv += ["--workers", str(workers)] if workers > 1 else []
    env = {"RAMPART_ROOT_ACCESS_KEY_ID": key_id, "RAMPART_ROOT_SECRET_ACCESS_KEY": secret}
    return ServerSpec("rampart", port, argv, env, health_path="/_rampart/health")


@contextmanager
def running(spec: ServerSpec, log_dir: Path, timeout: float = 60.0) -> Iterator[RunningServer]:
    """Start ``spec``, wait until it answers, stop it (SIGINT, then harder) on exit."""
    log_path = log_dir / f"{spec.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            spec.argv, env={**os.environ, **spec.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = RunningServer(spec, "127.0.0.1", spec.port, process, log_path)
    try:
        _wait_ready(server, timeout)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """Graceful shutdown first (so Rampart drains its event bus), then kill."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by ``pid`` and its live descendants; None off Linux.

    CPU per request is the figure that survives a noisy machine: other
    processes' load slows the wall clock, not the work a request costs.
    """
    proc = Path("/proc")
    if not (proc / str(pid) / "stat").exists():
        return None
    stats = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry / "stat")
            if fields is not None:
                stats[int(entry.name)] = fields
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, fields in stats.items() if fields[0] == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    ticks = sum(stats[member][1] for member in tree if member in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pid: int) -> float | None:
    """CPU time used so far by ``pid`` alone (not its children); None off Linux or when it is gone."""
    fields = _stat_fields(Path("/proc") / str(pid) / "stat")
    return None if fields is None else fields[1] / os.sysconf("SC_CLK_TCK")


def _stat_fields(path: Path) -> tuple[int, int] | None:
    """(parent pid, utime + stime ticks) from /proc/<pid>/stat; None if the process is gone."""
    try:
        text = path.read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.spec.name} exited with {server.process.returncode}:\n{tail}")
        if _answers(server.host, server.port, server.spec.health_path):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{server.spec.name} did not answer on port {server.port} within {timeout:.0f} s")


def _answers(host: str, port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def measure(server: RunningServer, raw: list[bytes], *, seconds: float, warmup: float, connections: int,
            use_wrk: bool, label: str, probe: int = 1) -> _load.LoadResult:
    """One measured round: the first ``probe`` requests must answer 200, a warm-up, then the load
    with the server's CPU per request; prints the round's line."""
    first = _load.run_load(raw[:probe], server.host, server.port, 0.2, 1, 1, False)
    if first.non_2xx:
        raise SystemExit(f"{label}: the request mix did not answer 200")
    _load.run_load(raw, server.host, server.port, warmup, connections, 1, use_wrk)
    cpu_before, main_before = cpu_seconds(server.process.pid), own_cpu_seconds(server.process.pid)
    load = _load.run_load(raw, server.host, server.port, seconds, connections, 1, use_wrk)
    cpu_after, main_after = cpu_seconds(server.process.pid), own_cpu_seconds(server.process.pid)
    if cpu_before is not None and cpu_after is not None and load.requests:
        load = replace(load, server_cpu_us=(cpu_after - cpu_before) / load.requests * 1e6)
    if main_before is not None and main_after is not None and load.requests:
        load = replace(load, main_cpu_us=(main_after - main_before) / load.requests * 1e6)
    cpu = load.server_cpu_us
    print(f"[{label}] {load.rps:,.0f} req/s, p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, "
          f"server CPU {'n/a' if cpu is None else f'{cpu:.0f}'} µs/req, non-2xx {load.non_2xx}", flush=True)
    return load
