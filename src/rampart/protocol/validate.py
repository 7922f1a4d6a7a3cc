"""Input validation against the model's constraints, in AWS's own words.

S3 has words of its own (no "validation errors detected" there): a bad
header or query value is InvalidArgument naming the argument (or
InvalidStorageClass), a body that breaks the schema is MalformedXML, a bad
CreateBucket location is InvalidLocationConstraint. Only S3's operations
(whose input shapes are recognised by identity) answer that way.

AWS answers constraint violations with one message listing them all::

    2 validation errors detected: Value null at 'userName' failed to satisfy
    constraint: Member must not be null; Value 'a b' at 'path' failed to
    satisfy constraint: Member must satisfy regular expression pattern: ...

Member paths use each member name with a lower-case first letter, list
elements as ``tags.1.member.key`` (1-based). Sensitive values are never
echoed (``Value at 'plaintext' ...``).

A JSON ``null`` is a missing value wherever it stands: a null structure
member is absent (the decoders drop it, the required check names it), and a
null list element or map value breaks "Member must not be null" like any
other constraint (``Value null at 'grantTokens.1.member'``; a map of
scalars words it as ``Map value must satisfy constraint: [Member must not
be null]``). Handlers therefore never meet a None inside a container.

A validator is compiled once per input shape (cached) into a small tree of
checker objects that holds only constrained members (every list and map is
one: its elements may be null); a shape with nothing to check
(GetCallerIdentity) compiles to nothing and costs one dict lookup.

Patterns in botocore models are Java regular expressions, translated to
Python ``re`` once per pattern by ``javaregex``. A pattern that cannot be
translated is skipped, not enforced: this layer mirrors AWS's input
checks for client compatibility, it is not a security boundary (handlers and
the policy engine enforce what matters), and failing closed would make every
call that carries the member unusable. Skipped patterns are logged once and
listed in ``UNTRANSLATABLE_PATTERNS``; the tests assert the served models have
none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rampart.aws.errors import AwsError, ValidationError
from rampart.aws.models import Shape, StructureShape, service_model
from rampart.protocol.javaregex import UNTRANSLATABLE_PATTERNS, java_regex

__all__ = ["UNTRANSLATABLE_PATTERNS", "java_regex", "validate", "validation_errors"]

Errors = list[str]


def validate(shape: StructureShape | None, params: Mapping[str, Any]) -> None:
    """Raise ValidationError (AWS's wording, every violation listed) when params break the model."""
    if shape is None:
        return
    checker = _compiled(shape)
    if checker is None:
        return
    errors: Errors = []
    checker.check(params, "", errors)
    if errors:
        if _is_s3_input(shape):
            raise _s3_error(shape, checker, params)
        count = len(errors)
        plural = "error" if count == 1 else "errors"
        raise ValidationError(f"{count} validation {plural} detected: " + "; ".join(errors))


def validation_errors(shape: StructureShape | None, params: Mapping[str, Any]) -> list[str]:
    """The individual violation messages (for callers that merge their own checks)."""
    checker = _compiled(shape) if shape is not None else None
    errors: Errors = []
    if checker is not None:
        checker.check(params, "", errors)
    return errors


_CACHE: dict[Shape, _Checker | None] = {}


def _compiled(shape: Shape) -> _Checker | None:
    """The checker of a shape object, built on first use (shape objects hash by identity)."""
    try:
        return _CACHE[shape]
    except KeyError:
        checker = _CACHE[shape] = _build(shape, {})
        return checker


# ------------------------------------------------------------- rendering


def _render(value: Any) -> str:
    """A value the way AWS's Java services print it inside ``Value '...'``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)


_NOT_NULL = "Member must not be null"


def _violation(value: Any, path: str, constraint: str, sensitive: bool) -> str:
    if value is None:
        shown = "Value null"
    elif sensitive:
        shown = "Value"
    else:
        shown = f"Value '{_render(value)}'"
    return f"{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _bound(number: float) -> str:
    return str(number)


# ---------------------------------------------------------------- checkers


class _Checker:
    """One constrained shape; ``check`` appends violation messages for a value at a path."""

    sensitive: bool = False

    def check(self, value: Any, path: str, errors: Errors) -> None:
        raise NotImplementedError

    def constraints(self, value: Any) -> list[str]:
        """Scalar constraint texts the value breaks (used for map keys and values)."""
        return []


class _Scalar(_Checker):
    """Strings, blobs and numbers: length or range, enum, pattern."""

    def __init__(self, shape: Shape) -> None:
        meta = shape.metadata
        self.kind = shape.type_name
        self.sensitive = bool(meta.get("sensitive"))
        self.min = meta.get("min")
        self.max = meta.get("max")
        self.enum = tuple(shape.enum) if self.kind == "string" and shape.enum else ()
        self.enum_set = frozenset(self.enum)
        self.pattern_text = meta.get("pattern") if self.kind == "string" else None
        self.pattern = java_regex(self.pattern_text) if self.pattern_text else None

    @property
    def useful(self) -> bool:
        return self.min is not None or self.max is not None or bool(self.enum) or self.pattern is not None

    def constraints(self, value: Any) -> list[str]:
        if self.kind in ("string", "blob"):
            return self._length_and_text(value)
        return self._range(value)

    def _length_and_text(self, value: Any) -> list[str]:
        if not isinstance(value, (str, bytes, bytearray)):
            return []
        out = []
        size = len(value)
        if self.min is not None and size < self.min:
            out.append(f"Member must have length greater than or equal to {_bound(self.min)}")
        if self.max is not None and size > self.max:
            out.append(f"Member must have length less than or equal to {_bound(self.max)}")
        if isinstance(value, str):
            if self.pattern is not None and self.pattern.fullmatch(value) is None:
                out.append(f"Member must satisfy regular expression pattern: {self.pattern_text}")
            if self.enum and value not in self.enum_set:
                out.append(f"Member must satisfy enum value set: [{', '.join(self.enum)}]")
        return out

    def _range(self, value: Any) -> list[str]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return []
        out = []
        if self.min is not None and value < self.min:
            out.append(f"Member must have value greater than or equal to {_bound(self.min)}")
        if self.max is not None and value > self.max:
            out.append(f"Member must have value less than or equal to {_bound(self.max)}")
        return out

    def check(self, value: Any, path: str, errors: Errors) -> None:
        for text in self.constraints(value):
            errors.append(_violation(value, path, text, self.sensitive))


class _Sized(_Checker):
    """A list or map: the model's min/max bound its number of entries."""

    def __init__(self, shape: Shape) -> None:
        self.sensitive = bool(shape.metadata.get("sensitive"))
        self.min = shape.metadata.get("min")
        self.max = shape.metadata.get("max")

    def check_size(self, value: Any, path: str, errors: Errors) -> None:
        """AWS words a list's or map's size as its length."""
        size = len(value)
        if self.min is not None and size < self.min:
            errors.append(_violation(value, path, f"Member must have length greater than or equal to {self.min}", self.sensitive))
        if self.max is not None and size > self.max:
            errors.append(_violation(value, path, f"Member must have length less than or equal to {self.max}", self.sensitive))


class _List(_Sized):
    """A list: its length, then each element at ``path.N.member`` (a null one is a missing member)."""

    def __init__(self, shape: Shape) -> None:
        super().__init__(shape)
        self.member: _Checker | None = None

    def check(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, (list, tuple)):
            return
        self.check_size(value, path, errors)
        member = self.member
        for i, item in enumerate(value, 1):
            if item is None:
                errors.append(_violation(None, f"{path}.{i}.member", _NOT_NULL, False))
            elif member is not None:
                member.check(item, f"{path}.{i}.member", errors)


class _Map(_Sized):
    """A map: its size, then keys and values (``Map keys must satisfy constraint: [...]``).

    Scalar values are judged together at the map's path; structure, list
    and map values each at ``path.<key>``.
    """

    def __init__(self, shape: Shape) -> None:
        super().__init__(shape)
        self.key: _Checker | None = None
        self.value: _Checker | None = None
        self.scalar_values = shape.value.type_name not in ("structure", "list", "map")

    def check(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, Mapping):
            return
        self.check_size(value, path, errors)
        self._entries(value, path, errors)

    def _entries(self, value: Mapping[str, Any], path: str, errors: Errors) -> None:
        key_broken: list[str] = []
        value_broken: list[str] = []
        for key, item in value.items():
            if self.key is not None:
                key_broken.extend(c for c in self.key.constraints(key) if c not in key_broken)
            if self.scalar_values:
                value_broken.extend(c for c in self._scalar_broken(item) if c not in value_broken)
            elif item is None:
                errors.append(_violation(None, f"{path}.{key}", _NOT_NULL, False))
            elif self.value is not None:
                self.value.check(item, f"{path}.{key}", errors)
        if key_broken:
            errors.append(_violation(value, path, f"Map keys must satisfy constraint: [{', '.join(key_broken)}]", self.sensitive))
        if value_broken:
            sensitive = self.sensitive or (self.value is not None and self.value.sensitive)
            errors.append(_violation(value, path, f"Map value must satisfy constraint: [{', '.join(value_broken)}]", sensitive))

    def _scalar_broken(self, item: Any) -> list[str]:
        """The constraints a scalar value breaks; a null one is missing."""
        if item is None:
            return [_NOT_NULL]
        return self.value.constraints(item) if self.value is not None else []


class _Struct(_Checker):
    """A structure: required members first absent -> null, then each constrained member."""

    def __init__(self, shape: Shape) -> None:
        self.sensitive = bool(shape.metadata.get("sensitive"))
        self.required: tuple[tuple[str, str], ...] = ()
        self.members: tuple[tuple[str, str, _Checker], ...] = ()

    def check(self, value: Any, path: str, errors: Errors) -> None:
        if not isinstance(value, Mapping):
            return
        prefix = f"{path}." if path else ""
        for name, wire in self.required:
            if value.get(name) is None:
                errors.append(_violation(None, prefix + wire, _NOT_NULL, False))
        for name, wire, checker in self.members:
            item = value.get(name)
            if item is not None:
                checker.check(item, prefix + wire, errors)


def _path_name(name: str) -> str:
    return name[:1].lower() + name[1:]


def _build(shape: Shape, building: dict[str, _Checker]) -> _Checker | None:
    """The checker tree of a shape; None when nothing in it is constrained.

    ``building`` holds structures under construction so recursive shapes
    refer to the same (later filled) checker instead of recursing forever.
    """
    kind = shape.type_name
    if kind == "structure":
        return _build_struct(shape, building)
    if kind == "list":
        checker = _List(shape)
        checker.member = _build(shape.member, building)
        return checker
    if kind == "map":
        mapping = _Map(shape)
        mapping.key = _build(shape.key, building)
        mapping.value = _build(shape.value, building)
        return mapping
    if kind in ("string", "blob", "integer", "long", "float", "double"):
        scalar = _Scalar(shape)
        return scalar if scalar.useful else None
    return None


def _build_struct(shape: Shape, building: dict[str, _Checker]) -> _Checker | None:
    if shape.name in building:
        return building[shape.name]
    struct = building[shape.name] = _Struct(shape)
    members = []
    for name, member in shape.members.items():
        if member.serialization.get("eventstream") or member.metadata.get("eventstream"):
            continue
        checker = _build(member, building)
        if checker is not None:
            members.append((name, _path_name(name), checker))
    if getattr(shape, "is_tagged_union", False):
        struct.required = ()
    else:
        struct.required = tuple((n, _path_name(n)) for n in shape.required_members if n in shape.members)
    struct.members = tuple(members)
    del building[shape.name]
    return struct if (struct.required or struct.members) else None


# ------------------------------------------------------------- S3's own codes

_S3_MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"
_S3_LOCATED = frozenset({"header", "headers", "querystring", "uri"})
# Header and query arguments whose bad values S3 words in its own way (S3 API reference, error responses).
_S3_ARGUMENT_MESSAGES = {
    "x-amz-server-side-encryption": "The encryption method specified is not supported",
    "x-amz-metadata-directive": "Unknown metadata directive.",
    "x-amz-tagging-directive": "Unknown tagging directive.",
    "encoding-type": "Invalid Encoding Method specified in Request",
    "x-amz-object-lock-mode": "Unknown wormMode directive.",
    "x-amz-object-lock-legal-hold": "Legal Hold must be either of 'ON' or 'OFF'",
}
_S3_INPUTS: dict[Shape, bool] = {}


def _is_s3_input(shape: Shape) -> bool:
    """Whether ``shape`` is the input shape of one of S3's operations (cached by shape identity)."""
    try:
        return _S3_INPUTS[shape]
    except KeyError:
        pass
    model = service_model("s3")
    operation = shape.name.removesuffix("Request")
    found = operation in model.operation_names and model.operation_model(operation).input_shape is shape
    _S3_INPUTS[shape] = found
    return found


def _s3_error(shape: Shape, checker: _Checker, params: Mapping[str, Any]) -> AwsError:
    """The error S3 answers for the first member that breaks the model (model order)."""
    if isinstance(checker, _Struct):
        for name, _ in checker.required:
            if params.get(name) is None:
                return _s3_missing(shape.members[name], name)
        for name, _, member_checker in checker.members:
            value = params.get(name)
            broken: Errors = []
            if value is not None:
                member_checker.check(value, name, broken)
            if broken:
                return _s3_bad_member(shape, name, value)
    return AwsError(_S3_MALFORMED_XML, code="MalformedXML", status=400)


def _s3_missing(member: Shape, name: str) -> AwsError:
    """A required member absent: a header S3 names, else the body it could not read."""
    location = member.serialization.get("location")
    wire = member.serialization.get("name", name)
    if location in ("header", "headers"):
        return AwsError(f"Missing required header for this request: {wire}", code="InvalidRequest", status=400)
    if location == "querystring":
        return AwsError(f"Missing required parameter for this request: {wire}", code="InvalidRequest", status=400)
    return AwsError(_S3_MALFORMED_XML, code="MalformedXML", status=400)


def _s3_bad_member(shape: Shape, name: str, value: Any) -> AwsError:
    """A member whose value breaks the model, as S3 words it for where the member travels."""
    member = shape.members[name]
    location = member.serialization.get("location")
    wire = member.serialization.get("name", name)
    if location in _S3_LOCATED:
        if wire.lower() == "x-amz-storage-class":
            return AwsError("The storage class you specified is not valid", code="InvalidStorageClass", status=400)
        message = _S3_ARGUMENT_MESSAGES.get(wire.lower(), f"Invalid value for argument {wire}")
        return AwsError(message, code="InvalidArgument", status=400,
                        fields={"ArgumentName": wire, "ArgumentValue": _render(value)[:256]})
    constraint = _location_constraint(shape, name, value)
    if constraint is not None:
        return AwsError("The specified location-constraint is not valid", code="InvalidLocationConstraint",
                        status=400, fields={"LocationConstraint": constraint})
    return AwsError(_S3_MALFORMED_XML, code="MalformedXML", status=400)


def _location_constraint(shape: Shape, name: str, value: Any) -> str | None:
    """CreateBucket's LocationConstraint when it is the value outside the model's regions, else None."""
    if shape.name != "CreateBucketRequest" or name != "CreateBucketConfiguration" or not isinstance(value, Mapping):
        return None
    constraint = value.get("LocationConstraint")
    if not isinstance(constraint, str):
        return None
    allowed = shape.members[name].members["LocationConstraint"].enum
    return constraint if constraint not in allowed else None
