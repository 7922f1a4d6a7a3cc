"""Validation: AWS's exact messages for every constraint kind, and no false alarms."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.aws.errors import ValidationError
from rampart.aws.models import SUPPORTED_SERVICES, ServiceModel, operation_model, service_model
from rampart.protocol.validate import UNTRANSLATABLE_PATTERNS, java_regex, validate, validation_errors
from tests.protocol import shapegen

_MODEL = ServiceModel(
    {
        "metadata": {"protocol": "json", "apiVersion": "2020-01-01", "serviceId": "Test", "targetPrefix": "T"},
        "operations": {
            "Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "Input"}},
        },
        "shapes": {
            "Input": {
                "type": "structure",
                "required": ["UserName"],
                "members": {
                    "UserName": {"shape": "Name"},
                    "Usage": {"shape": "Usage"},
                    "MaxItems": {"shape": "MaxItems"},
                    "Ratio": {"shape": "Ratio"},
                    "Tags": {"shape": "Tags"},
                    "Attributes": {"shape": "Attributes"},
                    "Secret": {"shape": "Secret"},
                    "Data": {"shape": "Data"},
                    "Node": {"shape": "Node"},
                    "Free": {"shape": "Free"},
                    "Names": {"shape": "Names"},
                    "Labels": {"shape": "Labels"},
                    "Children": {"shape": "Children"},
                },
            },
            "Name": {"type": "string", "min": 1, "max": 8, "pattern": "[\\w+=,.@-]+"},
            "Usage": {"type": "string", "enum": ["ENCRYPT_DECRYPT", "SIGN_VERIFY"]},
            "MaxItems": {"type": "integer", "min": 1, "max": 1000},
            "Ratio": {"type": "double", "min": 0.5},
            "Tags": {"type": "list", "member": {"shape": "Tag"}, "max": 2},
            "Tag": {
                "type": "structure",
                "required": ["Key", "Value"],
                "members": {"Key": {"shape": "TagKey"}, "Value": {"shape": "TagValue"}},
            },
            "TagKey": {"type": "string", "min": 1, "max": 4},
            "TagValue": {"type": "string", "pattern": "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"},
            "Attributes": {"type": "map", "key": {"shape": "TagKey"}, "value": {"shape": "TagKey"}, "max": 3},
            "Secret": {"type": "string", "min": 4, "sensitive": True},
            "Data": {"type": "blob", "min": 1, "max": 4},
            "Node": {"type": "structure", "members": {"Child": {"shape": "Node"}, "Name": {"shape": "TagKey"},
                                                      "Kids": {"shape": "Nodes"}}},
            "Nodes": {"type": "list", "member": {"shape": "Node"}},
            "Free": {"type": "string"},
            "Names": {"type": "list", "member": {"shape": "Free"}},
            "Labels": {"type": "map", "key": {"shape": "Free"}, "value": {"shape": "Free"}},
            "Children": {"type": "map", "key": {"shape": "Free"}, "value": {"shape": "Node"}},
        },
    },
    service_name="test",
)
_SHAPE = _MODEL.operation_model("Op").input_shape
_AT = "failed to satisfy constraint: "
_NAME_PATTERN = "[\\w+=,.@-]+"
_TAG_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [f"Value null at 'userName' {_AT}Member must not be null"]),
        ({"UserName": None}, [f"Value null at 'userName' {_AT}Member must not be null"]),
        ({"UserName": "a b"}, [f"Value 'a b' at 'userName' {_AT}Member must satisfy regular expression pattern: {_NAME_PATTERN}"]),
        ({"UserName": "toolongname"}, [f"Value 'toolongname' at 'userName' {_AT}Member must have length less than or equal to 8"]),
        (
            {"UserName": ""},
            [
                f"Value '' at 'userName' {_AT}Member must have length greater than or equal to 1",
                f"Value '' at 'userName' {_AT}Member must satisfy regular expression pattern: {_NAME_PATTERN}",
            ],
        ),
        ({"UserName": "u", "Usage": "X"}, [f"Value 'X' at 'usage' {_AT}Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY]"]),
        ({"UserName": "u", "MaxItems": 0}, [f"Value '0' at 'maxItems' {_AT}Member must have value greater than or equal to 1"]),
        ({"UserName": "u", "MaxItems": 1001}, [f"Value '1001' at 'maxItems' {_AT}Member must have value less than or equal to 1000"]),
        ({"UserName": "u", "Ratio": 0.25}, [f"Value '0.25' at 'ratio' {_AT}Member must have value greater than or equal to 0.5"]),
        (
            {"UserName": "u", "Tags": [{"Key": "k", "Value": "v"}, {"Key": "k2", "Value": "v"}, {"Key": "k3", "Value": "v"}]},
            [f"Value '[{{Key=k, Value=v}}, {{Key=k2, Value=v}}, {{Key=k3, Value=v}}]' at 'tags' {_AT}Member must have length less than or equal to 2"],
        ),
        (
            {"UserName": "u", "Tags": [{"Key": "k"}, {"Key": "", "Value": "<"}]},
            [
                f"Value null at 'tags.1.member.value' {_AT}Member must not be null",
                f"Value '' at 'tags.2.member.key' {_AT}Member must have length greater than or equal to 1",
                f"Value '<' at 'tags.2.member.value' {_AT}Member must satisfy regular expression pattern: {_TAG_PATTERN}",
            ],
        ),
        (
            {"UserName": "u", "Attributes": {"toolong": "v", "k": "toolong"}},
            [
                f"Value '{{toolong=v, k=toolong}}' at 'attributes' {_AT}Map keys must satisfy constraint: [Member must have length less than or equal to 4]",
                f"Value '{{toolong=v, k=toolong}}' at 'attributes' {_AT}Map value must satisfy constraint: [Member must have length less than or equal to 4]",
            ],
        ),
        (
            {"UserName": "u", "Attributes": {"a": "1", "b": "2", "c": "3", "d": "4"}},
            [f"Value '{{a=1, b=2, c=3, d=4}}' at 'attributes' {_AT}Member must have length less than or equal to 3"],
        ),
        ({"UserName": "u", "Secret": "abc"}, [f"Value at 'secret' {_AT}Member must have length greater than or equal to 4"]),
        ({"UserName": "u", "Data": b""}, [f"Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at 'data' {_AT}Member must have length greater than or equal to 1"]),
        ({"UserName": "u", "Node": {"Child": {"Child": {"Name": "toolong"}}}},
         [f"Value 'toolong' at 'node.child.child.name' {_AT}Member must have length less than or equal to 4"]),
        ({"UserName": "u", "Free": "anything at all ✓"}, []),
        # A null list element or map value is a missing member, in lists and maps with no constraints too.
        ({"UserName": "u", "Names": ["a", None]}, [f"Value null at 'names.2.member' {_AT}Member must not be null"]),
        ({"UserName": "u", "Tags": [None, {"Key": "k", "Value": "v"}]},
         [f"Value null at 'tags.1.member' {_AT}Member must not be null"]),
        ({"UserName": "u", "Node": {"Kids": [{"Kids": [None]}]}},
         [f"Value null at 'node.kids.1.member.kids.1.member' {_AT}Member must not be null"]),
        ({"UserName": "u", "Labels": {"a": "1", "b": None}},
         [f"Value '{{a=1, b=null}}' at 'labels' {_AT}Map value must satisfy constraint: [Member must not be null]"]),
        ({"UserName": "u", "Attributes": {"a": None, "b": "toolong"}},
         [(f"Value '{{a=null, b=toolong}}' at 'attributes' {_AT}Map value must satisfy constraint: "
           "[Member must not be null, Member must have length less than or equal to 4]")]),
        ({"UserName": "u", "Children": {"c": None, "d": {"Kids": [None]}}},
         [f"Value null at 'children.c' {_AT}Member must not be null",
          f"Value null at 'children.d.kids.1.member' {_AT}Member must not be null"]),
        ({"UserName": "u", "Names": [], "Labels": {}, "Children": {"c": {}}, "Node": {"Kids": [{}]}}, []),
        ({"UserName": "bob@x.co", "Usage": "SIGN_VERIFY", "MaxItems": 1000, "Tags": [{"Key": "k", "Value": "é 1"}]}, []),
    ],
)
def test_constraint_messages(params: dict[str, Any], expected: list[str]) -> None:
    assert validation_errors(_SHAPE, params) == expected
    if not expected:
        validate(_SHAPE, params)
        return
    with pytest.raises(ValidationError) as caught:
        validate(_SHAPE, params)
    noun = "error" if len(expected) == 1 else "errors"
    assert caught.value.message == f"{len(expected)} validation {noun} detected: " + "; ".join(expected)


def test_error_code_per_protocol() -> None:
    with pytest.raises(ValidationError) as caught:
        validate(_SHAPE, {})
    assert caught.value.code_for("query") == "ValidationError"
    assert caught.value.code_for("json") == "ValidationException"
    assert caught.value.status == 400


def test_iam_create_user_real_model() -> None:
    with pytest.raises(ValidationError) as caught:
        validate(operation_model("iam", "CreateUser").input_shape, {"UserName": "abc def"})
    assert caught.value.message == (
        "1 validation error detected: Value 'abc def' at 'userName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_iam_two_missing_members() -> None:
    with pytest.raises(ValidationError) as caught:
        validate(operation_model("iam", "CreateRole").input_shape, {})
    assert caught.value.message == (
        "2 validation errors detected: "
        "Value null at 'roleName' failed to satisfy constraint: Member must not be null; "
        "Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null"
    )


def test_kms_sensitive_plaintext_not_echoed() -> None:
    errors = validation_errors(operation_model("kms", "Encrypt").input_shape, {"KeyId": "k", "Plaintext": b""})
    assert errors == ["Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1"]


def test_uri_and_header_members_are_validated() -> None:
    shape = operation_model("guardduty", "GetDetector").input_shape
    errors = validation_errors(shape, {"DetectorId": ""})
    assert errors == ["Value '' at 'detectorId' failed to satisfy constraint: Member must have length greater than or equal to 1"]


def test_empty_shapes_and_none_are_free() -> None:
    validate(None, {})
    validate(operation_model("sts", "GetCallerIdentity").input_shape, {})
    validate(operation_model("sts", "GetCallerIdentity").input_shape, {"Unknown": 1})


def test_wrong_types_are_not_crashes() -> None:
    weird = {"UserName": 5, "Tags": "nope", "Attributes": [1], "MaxItems": "x", "Node": 3, "Data": 7, "Ratio": True}
    validation_errors(_SHAPE, weird)
    validation_errors(_SHAPE, {"UserName": "u", "Tags": [None, 3, {"Key": 1, "Value": None}]})


# ------------------------------------------------------------ Java regexes


@pytest.mark.parametrize(
    ("java", "good", "bad"),
    [
        ("[\\w+=,.@-]+", ["bob", "a.b@c", "x_-=,"], ["a b", "é", ""]),
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", ["héllo wörld 1", "", "日本"], ["<", "a!"]),
        ("[\\w-_]*", ["a-_b"], ["a b"]),
        ("[a-zA-Z\\d-_/]+", ["a-1_/"], ["a b"]),
        ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*", ["ok😀\t", "é"], ["\x01", "\n"]),
        ("\\p{ASCII}+", ["abc~"], ["é"]),
        ("\\P{L}+", ["123 !"], ["a"]),
        ("^(?![^:\\\\]*/action/|(?i).*<script>.*</script>.*)[^:\\\\]+$", ["abc"], ["a<SCRIPT>x</script>", "x/action/y"]),
        ("(?s).+", ["a\nb"], []),
        (".+", ["ab"], ["a\nb", "a\rb"]),
        ("\\d+", ["123"], ["١٢٣"]),
        ("\\S+", ["a\xa0b"], ["a b"]),
        ("[^\\s]+", ["ab"], ["a\tb"]),
        ("\\Qa.b\\E", ["a.b"], ["axb"]),
        ("[a[bc]]+", ["abc"], ["d"]),
        ("(?<name>a)\\k<name>", [], ["ab"]),
        ("a*+b", ["aab"], ["aa"]),
        ("\\x41\\x{1F600}", ["A😀"], ["A"]),
        ("[&|~]+", ["&|~"], ["a"]),
    ],
)
def test_java_regex_translation(java: str, good: list[str], bad: list[str]) -> None:
    compiled = java_regex(java)
    if compiled is None:
        assert not good  # only the constructs we refuse may be untranslatable
        return
    for value in good:
        assert compiled.fullmatch(value), (java, value)
    for value in bad:
        assert compiled.fullmatch(value) is None, (java, value)


@pytest.mark.parametrize("java", ["[a-z&&[^b]]", "[\\P{L}]", "\\p{InGreek}", "\\cA", "(", "[abc"])
def test_untranslatable_patterns_are_skipped(java: str) -> None:
    assert java_regex(java) is None
    assert java in UNTRANSLATABLE_PATTERNS


def test_every_served_pattern_translates() -> None:
    failed = []
    for name in SUPPORTED_SERVICES:
        model = service_model(name)
        for shape_name in model.shape_names:
            pattern = model.shape_for(shape_name).metadata.get("pattern")
            if pattern and java_regex(pattern) is None:
                failed.append((name, shape_name, pattern))
    assert failed == []


# ------------------------------------------------------------ properties


def _non_pattern(errors: list[str]) -> list[str]:
    """shapegen respects enums, lengths and integer ranges, not patterns or float ranges."""
    return [e for e in errors if "regular expression pattern" not in e and "Member must have value" not in e]


def _fit_sizes(rng: random.Random, shape: Any, value: Any) -> Any:
    """shapegen ignores list maxima and map minima (and empties deep lists): bring sizes in bounds."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _fit_sizes(rng, shape.members[k], v) for k, v in value.items()}
    if kind not in ("list", "map"):
        return value
    lo, hi = shape.metadata.get("min", 0) or 0, shape.metadata.get("max")
    if kind == "list":
        items = value[:hi] if hi is not None else value
        while len(items) < lo:
            items.append(shapegen.random_value(rng, shape.member, depth=3))
        return [_fit_sizes(rng, shape.member, v) for v in items]
    entries = dict(list(value.items())[:hi] if hi is not None else value.items())
    while len(entries) < lo:
        entries[shapegen.random_string(rng, shape.key, True) + str(len(entries))] = shapegen.random_value(
            rng, shape.value, depth=3
        )
    return {k: _fit_sizes(rng, shape.value, v) for k, v in entries.items()}


@pytest.mark.parametrize("service", SUPPORTED_SERVICES)
def test_random_valid_inputs_pass(service: str) -> None:
    model = service_model(service)
    failures = []
    for i, op_name in enumerate(model.operation_names):
        shape = model.operation_model(op_name).input_shape
        if shape is None:
            continue
        rng = random.Random(i)
        params = _fit_sizes(rng, shape, shapegen.random_value(rng, shape))
        errors = _non_pattern(validation_errors(shape, params))
        if errors:
            failures.append((op_name, errors[:2]))
    assert failures == []


_PATTERN_SAMPLES = {
    "[\\w+=,.@-]+": st.from_regex(r"[a-zA-Z0-9_+=,.@-]{1,20}", fullmatch=True),
    "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*": st.text(
        alphabet=st.characters(categories=("L", "Zs", "Nd")) | st.sampled_from("_.:/=+-@"), max_size=20
    ),
}


@settings(max_examples=100, deadline=None)
@given(name=_PATTERN_SAMPLES["[\\w+=,.@-]+"], value=_PATTERN_SAMPLES["[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"])
def test_pattern_satisfying_strings_pass(name: str, value: str) -> None:
    params = {"UserName": name[:8], "Tags": [{"Key": "k", "Value": value}]}
    assert validation_errors(_SHAPE, params) == []


@settings(max_examples=200, deadline=None)
@given(params=st.dictionaries(
    st.sampled_from(["UserName", "Usage", "MaxItems", "Ratio", "Tags", "Attributes", "Secret", "Data", "Node", "X"]),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | st.binary(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    ),
))
def test_fuzz_only_validation_errors(params: dict[str, Any]) -> None:
    try:
        validate(_SHAPE, params)
    except ValidationError as exc:
        assert exc.message.startswith(("1 validation error detected: ", f"{exc.message.split()[0]} validation errors"))
