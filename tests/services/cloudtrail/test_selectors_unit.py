"""Selectors: AWS's validation rules and matching, table-driven, plus properties with hypothesis."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rampart.events.trail_record import TrailEvent
from rampart.services.cloudtrail import selectors as sel
from rampart.services.cloudtrail.errors import (
    InvalidEventSelectorsException,
    InvalidInsightSelectorsException,
    InvalidParameterCombinationException,
)

S3 = "AWS::S3::Object"


def event(source: str = "iam.amazonaws.com", name: str = "CreateUser", read_only: bool = False,
          category: str = "Management", resources: tuple[tuple[str, str], ...] = (),
          error: str | None = None, user_arn: str = "arn:aws:iam::111122223333:user/alice") -> TrailEvent:
    body = {"userIdentity": {"arn": user_arn}, "eventType": "AwsApiCall"}
    return TrailEvent("e1", "111122223333", "us-east-1", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), source, name,
                      read_only, category, "alice", None, resources, error, body)


OBJ = event("s3.amazonaws.com", "PutObject", False, "Data", ((S3, "arn:aws:s3:::logs/a/b.txt"),))
OBJ_READ = event("s3.amazonaws.com", "GetObject", True, "Data", ((S3, "arn:aws:s3:::other/x"),))
KMS = event("kms.amazonaws.com", "Decrypt", True)

BASIC_CASES: list[tuple[str, list[dict[str, Any]] | None, TrailEvent, bool]] = [
    ("default takes management", None, event(), True),
    ("default skips data", None, OBJ, False),
    ("read-only skips writes", [{"ReadWriteType": "ReadOnly"}], event(), False),
    ("read-only takes reads", [{"ReadWriteType": "ReadOnly"}], event(read_only=True), True),
    ("write-only skips reads", [{"ReadWriteType": "WriteOnly"}], event(read_only=True), False),
    ("no management", [{"IncludeManagementEvents": False}], event(), False),
    ("exclude kms", [{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}], KMS, False),
    ("exclude kms keeps iam", [{"ExcludeManagementEventSources": ["kms.amazonaws.com"]}], event(), True),
    ("bucket prefix", [{"DataResources": [{"Type": S3, "Values": ["arn:aws:s3:::logs/"]}]}], OBJ, True),
    ("other bucket", [{"DataResources": [{"Type": S3, "Values": ["arn:aws:s3:::logs/"]}]}], OBJ_READ, False),
    ("object prefix", [{"DataResources": [{"Type": S3, "Values": ["arn:aws:s3:::logs/a/"]}]}], OBJ, True),
    ("object prefix miss", [{"DataResources": [{"Type": S3, "Values": ["arn:aws:s3:::logs/z"]}]}], OBJ, False),
    ("all buckets", [{"DataResources": [{"Type": S3, "Values": ["arn:aws:s3"]}]}], OBJ_READ, True),
    ("data rw filter", [{"ReadWriteType": "WriteOnly", "DataResources": [{"Type": S3, "Values": ["arn:aws:s3"]}]}],
     OBJ_READ, False),
    ("lambda type not s3", [{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]}]}],
     OBJ, False),
]


@pytest.mark.parametrize(("label", "selectors", "evt", "expected"), BASIC_CASES, ids=[c[0] for c in BASIC_CASES])
def test_basic_matching(label: str, selectors: list[dict[str, Any]] | None, evt: TrailEvent, expected: bool) -> None:
    stored = None if selectors is None else {"EventSelectors": sel.validate_basic(selectors)}
    assert sel.matches(stored, evt) is expected


# (label, selectors, AWS's message where its users quote it, else None: only the code is AWS's)
BAD_BASIC: list[tuple[str, list[dict[str, Any]], str | None]] = [
    ("none", [], None),
    ("six", [{}] * 6, None),
    ("bad rw", [{"ReadWriteType": "read-only"}], None),
    ("bad type", [{"DataResources": [{"Type": "AWS::EC2::Instance", "Values": ["arn:aws:ec2"]}]}], None),
    ("no values", [{"DataResources": [{"Type": S3, "Values": []}]}], None),
    ("bad s3 value", [{"DataResources": [{"Type": S3, "Values": ["arn:aws:s3:::bucket"]}]}],
     "Value arn:aws:s3:::bucket for DataResources.Values is invalid."),
    ("s3 wildcard", [{"DataResources": [{"Type": S3, "Values": ["arn:aws:s3:::*"]}]}],
     "Value arn:aws:s3:::* for DataResources.Values is invalid."),
    ("lambda wildcard", [{"DataResources": [{"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda:*"]}]}],
     "Value arn:aws:lambda:* for DataResources.Values is invalid."),
    ("bad exclusion", [{"ExcludeManagementEventSources": ["iam.amazonaws.com"]}], None),
    ("too many resources", [{"DataResources": [{"Type": S3, "Values": [f"arn:aws:s3:::b{i:03d}/" for i in range(251)]}]}],
     "Specify a valid number of DataResources.Values (0 to 250) for all your selectors"),
]


@pytest.mark.parametrize(("label", "selectors", "message"), BAD_BASIC, ids=[c[0] for c in BAD_BASIC])
def test_basic_validation(label: str, selectors: list[dict[str, Any]], message: str | None) -> None:
    with pytest.raises(InvalidEventSelectorsException) as bad:
        sel.validate_basic(selectors)
    assert message is None or bad.value.message == message


def test_basic_defaults_filled() -> None:
    assert sel.validate_basic([{}]) == sel.DEFAULT_SELECTORS


def fs(field: str, **ops: list[str]) -> dict[str, Any]:
    return {"Field": field, **ops}


MGMT = fs("eventCategory", Equals=["Management"])
DATA = fs("eventCategory", Equals=["Data"])
S3T = fs("resources.type", Equals=[S3])

ADVANCED_CASES: list[tuple[str, list[dict[str, Any]], TrailEvent, bool]] = [
    ("management", [MGMT], event(), True),
    ("management skips data", [MGMT], OBJ, False),
    ("read only", [MGMT, fs("readOnly", Equals=["true"])], event(), False),
    ("not kms", [MGMT, fs("eventSource", NotEquals=["kms.amazonaws.com"])], KMS, False),
    ("data all s3", [DATA, S3T], OBJ, True),
    ("data arn prefix", [DATA, S3T, fs("resources.ARN", StartsWith=["arn:aws:s3:::logs/"])], OBJ, True),
    ("data arn miss", [DATA, S3T, fs("resources.ARN", StartsWith=["arn:aws:s3:::logs/"])], OBJ_READ, False),
    ("not starts", [DATA, S3T, fs("resources.ARN", NotStartsWith=["arn:aws:s3:::logs/"])], OBJ_READ, True),
    ("ends with", [DATA, S3T, fs("resources.ARN", EndsWith=[".txt"])], OBJ, True),
    ("not ends with", [DATA, S3T, fs("resources.ARN", NotEndsWith=[".txt"])], OBJ, False),
    ("event name", [DATA, S3T, fs("eventName", Equals=["GetObject"])], OBJ, False),
    ("user arn", [DATA, S3T, fs("userIdentity.arn", StartsWith=["arn:aws:iam::111122223333:user/"])], OBJ, True),
    ("error code absent", [DATA, S3T, fs("errorCode", Equals=["AccessDenied"])], OBJ, False),
    ("error code absent not", [DATA, S3T, fs("errorCode", NotEquals=["AccessDenied"])], OBJ, True),
]


@pytest.mark.parametrize(("label", "fields", "evt", "expected"), ADVANCED_CASES, ids=[c[0] for c in ADVANCED_CASES])
def test_advanced_matching(label: str, fields: list[dict[str, Any]], evt: TrailEvent, expected: bool) -> None:
    stored = {"AdvancedEventSelectors": sel.validate_advanced([{"Name": label, "FieldSelectors": fields}])}
    assert sel.matches(stored, evt) is expected


BAD_ADVANCED: list[tuple[str, list[dict[str, Any]]]] = [
    ("no category", [fs("readOnly", Equals=["true"])]),
    ("two categories", [fs("eventCategory", Equals=["Management", "Data"])]),
    ("unknown category", [fs("eventCategory", Equals=["Other"])]),
    ("data without type", [DATA]),
    ("unknown field", [MGMT, fs("colour", Equals=["red"])]),
    ("management eventName", [MGMT, fs("eventName", Equals=["x"])]),
    ("management source equals", [MGMT, fs("eventSource", Equals=["kms.amazonaws.com"])]),
    ("readOnly bad value", [MGMT, fs("readOnly", Equals=["yes"])]),
    ("empty operator", [DATA, S3T, fs("eventName", Equals=[])]),
    ("no operator", [DATA, S3T, fs("eventName")]),
    ("field twice", [DATA, S3T, fs("eventName", Equals=["a"]), fs("eventName", Equals=["b"])]),
    ("too many values", [DATA, S3T, fs("resources.ARN", StartsWith=[f"arn:aws:s3:::b{i}/" for i in range(499)])]),
]


@pytest.mark.parametrize(("label", "fields"), BAD_ADVANCED, ids=[c[0] for c in BAD_ADVANCED])
def test_advanced_validation(label: str, fields: list[dict[str, Any]]) -> None:
    with pytest.raises(InvalidEventSelectorsException):
        sel.validate_advanced([{"Name": label, "FieldSelectors": fields}])


def test_kind_is_one_or_the_other() -> None:
    with pytest.raises(InvalidParameterCombinationException):
        sel.choose_kind({"EventSelectors": [], "AdvancedEventSelectors": []})
    with pytest.raises(InvalidParameterCombinationException):
        sel.choose_kind({})
    assert sel.choose_kind({"AdvancedEventSelectors": []}) == "AdvancedEventSelectors"


def test_insight_selectors() -> None:
    assert sel.validate_insights([{"InsightType": "ApiCallRateInsight"}]) == [{"InsightType": "ApiCallRateInsight"}]
    assert sel.validate_insights([]) == []
    for bad in ([{"InsightType": "Nope"}], [{"InsightType": "ApiCallRateInsight"}] * 2):
        with pytest.raises(InvalidInsightSelectorsException):
            sel.validate_insights(bad)


arns = st.from_regex(r"arn:aws:s3:::[a-z]{3,8}/[a-z/]{0,10}", fullmatch=True)


@given(arn=arns, cut=st.integers(min_value=0, max_value=30))
def test_starts_with_agrees_with_not_starts_with(arn: str, cut: int) -> None:
    """StartsWith and NotStartsWith on the same prefix always disagree, and a basic S3 prefix selector agrees
    with the advanced StartsWith on the ARN."""
    prefix = arn[: max(len("arn:aws:s3:::") + 1, min(cut, len(arn)))]
    evt = event("s3.amazonaws.com", "PutObject", False, "Data", ((S3, arn),))
    pos = {"AdvancedEventSelectors": [{"FieldSelectors": [DATA, S3T, fs("resources.ARN", StartsWith=[prefix])]}]}
    neg = {"AdvancedEventSelectors": [{"FieldSelectors": [DATA, S3T, fs("resources.ARN", NotStartsWith=[prefix])]}]}
    assert sel.matches(pos, evt) is not sel.matches(neg, evt)
    assert sel.matches(pos, evt) is True
