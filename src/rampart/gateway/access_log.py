"""The HTTP access log without credentials: presigned URLs carry their signature in the query string.

A presigned URL's signature (and a session token beside it) is a bearer
credential until it expires: anyone who reads the access log could replay
the request. uvicorn logs the full path with the query, so its access logger
gets a filter that replaces those parameters' values.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

REDACTED = "REDACTED"
_SECRET_PARAMS = re.compile(r"(?i)([?&](?:X-Amz-Signature|Signature|X-Amz-Security-Token)=)[^&#\s]*")


def redact_query(path: str) -> str:
    """``path`` with the values of signature and session-token query parameters replaced."""
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + REDACTED, path) if "?" in path else path


class RedactSignatures(logging.Filter):
    """uvicorn's access records are (client, method, path with query, HTTP version, status): redact the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the filter on the access handler (each worker applies it)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_signatures"] = {"()": f"{__name__}.RedactSignatures"}
    config["handlers"]["access"].setdefault("filters", []).append("redact_signatures")
    return config
