"""Which codec serves which wire protocol, and the guess used before routing succeeds."""

from __future__ import annotations

import importlib
from functools import cache, lru_cache

from rampart.gateway.http import HttpRequest
from rampart.protocol.base import Codec

_MODULES = {
    "query": "rampart.protocol.query",
    "ec2": "rampart.protocol.ec2",
    "json": "rampart.protocol.jsonproto",
    "rest-json": "rampart.protocol.restjson",
    "rest-xml": "rampart.protocol.restxml",
    "smithy-rpc-v2-cbor": "rampart.protocol.cbor",
}


@cache
def codec_for(protocol: str) -> Codec:
    """The singleton codec of a wire protocol."""
    return importlib.import_module(_MODULES[protocol]).CODEC


def fallback_protocol(request: HttpRequest) -> str:
    """The protocol to answer in when the request could not be routed.

    Answer in the dialect the client evidently speaks, so its SDK can read
    the error: JSON targets get JSON, CBOR gets CBOR, form posts get query XML,
    anything else (S3-style REST) gets S3's XML.
    """
    headers = request.headers
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    if "x-amz-target" in headers or headers.get("content-type", "").startswith("application/x-amz-json"):
        return "json"
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded") or "Action=" in request.query:
        return "query"
    return "rest-xml"
