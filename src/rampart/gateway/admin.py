"""The admin API under ``/_rampart/``: health always; clock control and running due jobs in test mode only."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from rampart import __version__, jobs
from rampart.gateway.context import Gateway


def admin_app(gateway: Gateway) -> Starlette:
    """Routes for operators and tests; the time-moving ones exist only in test mode."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__, "test_mode": gateway.settings.test_mode})

    async def advance_clock(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            seconds = float(body["seconds"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected JSON {\"seconds\": N}"}, status_code=400)
        if seconds < 0:
            return JSONResponse({"error": "time only moves forward"}, status_code=400)
        return JSONResponse({"now": gateway.clock.advance(seconds).isoformat()})

    async def clock_now(request: Request) -> JSONResponse:
        return JSONResponse({"now": gateway.clock.now().isoformat()})

    async def run_jobs(request: Request) -> JSONResponse:
        await run_in_threadpool(gateway.flush_records)  # jobs (trail delivery) see every call made before
        ran = await run_in_threadpool(jobs.run_due, gateway, wait=True)
        return JSONResponse({"ran": ran, "now": gateway.clock.now().isoformat()})

    routes = [Route("/_rampart/health", health, methods=["GET"])]
    if gateway.settings.test_mode:
        routes += [
            Route("/_rampart/clock", clock_now, methods=["GET"]),
            Route("/_rampart/clock/advance", advance_clock, methods=["POST"]),
            Route("/_rampart/jobs/run", run_jobs, methods=["POST"]),
        ]
    return Starlette(routes=routes)
