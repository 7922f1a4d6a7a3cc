"""requestParameters and responseElements in CloudTrail's spelling, walked along the model's shapes.

CloudTrail writes structure members in lowerCamel case (``UserName`` ->
``userName``, even ``SAMLMetadataDocument`` -> ``sAMLMetadataDocument``: only
the first letter changes) and leaves map keys alone (tags, encryption
context), so the walk needs the shape to tell a structure from a map. S3
records its REST wire names instead: ``bucketName`` and ``key`` for the URI,
query-string members by their query names, ``x-amz-*`` headers by header
name, and an XML payload by its element name.

Values are made JSON-able on the way: timestamps as AWS writes them in these
elements (``Jan 2, 2026, 3:04:05 PM``), blobs dropped (ciphertexts and
payloads are data, not metadata). Credentials' secrets are dropped wherever
they appear (AWS logs AssumeRole's and CreateAccessKey's answers without them).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from botocore.exceptions import DataNotFoundError

from rampart.aws.models import Shape, service_model
from rampart.events.records import HIDDEN

# Member names never written, whatever the model says (the secret half of a credential).
_NEVER = frozenset({"SecretAccessKey", "SessionToken", "secretAccessKey", "sessionToken"})
_S3_URI_NAMES = {"Bucket": "bucketName", "Key": "key"}


def lower_first(name: str) -> str:
    """CloudTrail's member spelling: the model's name with its first letter lowered."""
    return name[:1].lower() + name[1:]


def aws_time(moment: dt.datetime) -> str:
    """Timestamps inside request/response elements, as CloudTrail writes them (``Jan 2, 2026, 3:04:05 PM``)."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    hour = utc.hour % 12 or 12
    return f"{utc:%b} {utc.day}, {utc.year}, {hour}:{utc:%M:%S} {'AM' if utc.hour < 12 else 'PM'}"


def spell(service: str, operation: str, values: dict[str, Any] | None, *, output: bool) -> dict[str, Any] | None:
    """``values`` (input or output of the operation) in CloudTrail's spelling; None stays None."""
    if values is None:
        return None
    shape = _shape(service, operation, output)
    if service == "s3" and shape is not None:
        return _s3_top(shape, values, output=output)
    return _walk(shape, values)


@cache
def _shape(service: str, operation: str, output: bool) -> Shape | None:
    """The operation's input or output shape; None for an operation no model knows (spelled shape-blind)."""
    try:
        model = service_model(service)
    except DataNotFoundError:
        return None
    if operation not in model.operation_names:
        return None
    found = model.operation_model(operation)
    return found.output_shape if output else found.input_shape


def _walk(shape: Shape | None, value: Any) -> Any:
    if isinstance(value, dict):
        kind = shape.type_name if shape is not None else "structure"
        if kind == "map":
            return {k: _walk(shape.value, v) for k, v in value.items() if _keep(v, shape.value)}  # type: ignore[union-attr]
        members = shape.members if shape is not None and kind == "structure" else {}
        return {lower_first(k): _walk(members.get(k), v) for k, v in value.items()
                if k not in _NEVER and _keep(v, members.get(k))}
    if isinstance(value, list | tuple):
        member = shape.member if shape is not None and shape.type_name == "list" else None
        return [_walk(member, item) for item in value if _keep(item, member)]
    return _scalar(shape, value)


def _scalar(shape: Shape | None, value: Any) -> Any:
    """A timestamp as AWS spells it: a datetime, or the ISO text a journaled record carries for one."""
    if isinstance(value, str) and shape is not None and shape.type_name == "timestamp":
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return aws_time(value)
    return value


def _keep(value: Any, shape: Shape | None = None) -> bool:
    """Not binary data (a blob member, or bytes and streams in a shape-blind place); a hidden secret shows."""
    if shape is not None and shape.type_name == "blob":
        return value == HIDDEN
    return not isinstance(value, bytes | bytearray | memoryview) and not hasattr(value, "read")


def _s3_top(shape: Shape, values: dict[str, Any], *, output: bool) -> dict[str, Any]:
    """S3's wire names at the top level; below it, payload structures keep the model's XML names."""
    spelled: dict[str, Any] = {}
    members = shape.members
    for name, value in values.items():
        member = members.get(name)
        if name in _NEVER or member is None or not _keep(value, member):
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri" and not output:
            spelled[_S3_URI_NAMES.get(name, lower_first(name))] = value
        elif location == "querystring":
            spelled[wire] = _plain(member, value)
        elif location in ("header", "headers"):
            if str(wire).lower().startswith("x-amz-") and location == "header":
                spelled[str(wire).lower()] = _plain(member, value)
        else:
            spelled[wire] = _plain(member, value)
    return spelled


def _plain(shape: Shape | None, value: Any) -> Any:
    """A value below S3's top level: JSON-able, names as the model has them."""
    kind = shape.type_name if shape is not None else None
    if isinstance(value, dict):
        if kind == "map":
            return {k: _plain(shape.value, v) for k, v in value.items() if _keep(v, shape.value)}  # type: ignore[union-attr]
        members = shape.members if shape is not None and kind == "structure" else {}
        return {k: _plain(members.get(k), v) for k, v in value.items() if k not in _NEVER and _keep(v, members.get(k))}
    if isinstance(value, list | tuple):
        member = shape.member if shape is not None and kind == "list" else None
        return [_plain(member, item) for item in value if _keep(item, member)]
    return _scalar(shape, value)