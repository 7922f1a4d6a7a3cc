"""The contract every wire-protocol codec fulfils.

A codec is driven entirely by the botocore model: it turns an HttpRequest into
the operation's input dict, and an output dict or an AwsError into an
HttpResponse. Values use the Python types botocore's clients use: ``datetime``
(timezone-aware, UTC) for timestamps, ``bytes`` for blobs, ``int``/``float``/
``bool``/``str``, ``list`` and ``dict`` for lists, maps and structures. Output
members that are ``None`` or absent are left out. Members not in the shape are
ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rampart.aws.errors import AwsError
from rampart.aws.models import OperationModel, ServiceModel
from rampart.gateway.http import HttpRequest, HttpResponse


class Codec(Protocol):
    """One wire protocol (query, json, rest-json, rest-xml, ec2, smithy-rpc-v2-cbor)."""

    protocol: str

    def parse_request(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: Mapping[str, str],
    ) -> dict[str, Any]:
        """Decode the request into the operation's input dict.

        ``uri_params`` are the already percent-decoded labels the router
        matched in the requestUri template (rest protocols only). Raises
        ``SerializationError`` (or another AwsError) on a body that cannot
        be decoded; never any other exception.
        """
        ...

    def serialize_response(
        self,
        operation: OperationModel,
        output: Mapping[str, Any],
        request_id: str,
    ) -> HttpResponse:
        """Encode a successful output dict (status from the model's http trait, default 200)."""
        ...

    def serialize_error(
        self,
        error: AwsError,
        service: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        """Encode an error: ``error.code_for(self.protocol)``, message, status, extra fields."""
        ...
