"""The ``ec2`` wire protocol: the query protocol with EC2's own naming.

Differences from ``query`` that this module owns: input keys use the
member's ``queryName``, else its ``locationName`` capitalized; lists are
always ``Name.N`` (no ``member`` segment); responses have no result wrapper
and carry ``<requestId>`` at the top; list items are ``<item>``; errors are
``<Response><Errors><Error>..</Error></Errors><RequestID>..</RequestID></Response>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rampart.aws.errors import AwsError
from rampart.aws.models import OperationModel, ServiceModel, Shape
from rampart.gateway.http import HttpRequest, HttpResponse
from rampart.protocol.query import (
    QueryInputDecoder,
    Tree,
    build_tree,
    decode_form,
    write_error_fields,
    xml_namespace,
    xml_response,
)
from rampart.protocol.xmlout import XmlShapeWriter, escape_attr, simple_element

__all__ = ["CODEC", "Ec2Codec", "Ec2InputDecoder"]

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


class Ec2InputDecoder(QueryInputDecoder):
    """Query decoding with EC2's key names (queryName, capitalized locationName, ``Name.N``)."""

    def serialized_name(self, shape: Shape, default: str) -> str:
        """``queryName``, else ``locationName`` with its first letter upper-cased, else the default."""
        serialization = shape.serialization
        query_name = serialization.get("queryName")
        if query_name:
            return query_name
        name = serialization.get("name")
        if name:
            return name[0].upper() + name[1:]
        return default

    def member_key(self, shape: Shape, name: str) -> str:
        """EC2 lists are never renamed by their member: the member's own name is the key."""
        return self.serialized_name(shape, name)

    def list_items(self, node: Tree, shape: Shape) -> Tree:
        """EC2 lists put the index right after the name: ``Name.1``."""
        return node


class Ec2Codec:
    """The ``ec2`` protocol codec."""

    protocol = "ec2"

    def __init__(self) -> None:
        self.decoder = Ec2InputDecoder()
        self.writer = XmlShapeWriter(list_member="item")
        self._heads: dict[OperationModel, str] = {}

    def parse_request(
        self, request: HttpRequest, operation: OperationModel, uri_params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Decode the form body / query string into the operation's input dict."""
        return self.decoder.decode(build_tree(decode_form(request)), operation.input_shape)

    def serialize_response(
        self, operation: OperationModel, output: Mapping[str, Any], request_id: str
    ) -> HttpResponse:
        """``<OpResponse xmlns=..><requestId>..</requestId>members..</OpResponse>``."""
        head = self._heads.get(operation)
        if head is None:
            namespace = escape_attr(xml_namespace(operation.service_model))
            head = self._heads[operation] = f'{_DECLARATION}<{operation.name}Response xmlns="{namespace}">'
        out = [head, simple_element("requestId", request_id)]
        shape = operation.output_shape
        if shape is not None:
            self.writer.write_members(out, shape, output)
        out.append(f"</{operation.name}Response>")
        return xml_response(int(operation.http.get("responseCode", 200)), "".join(out), request_id)

    def serialize_error(
        self,
        error: AwsError,
        service: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        """``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>``."""
        code = error.code_for(self.protocol)
        out = [_DECLARATION, "<Response><Errors><Error>"]
        out.append(simple_element("Code", code))
        out.append(simple_element("Message", error.message))
        write_error_fields(self.writer, out, error, service, code)
        out.append(f"</Error></Errors>{simple_element('RequestID', request_id)}</Response>")
        return xml_response(error.status_for(self.protocol), "".join(out), request_id)


CODEC = Ec2Codec()
