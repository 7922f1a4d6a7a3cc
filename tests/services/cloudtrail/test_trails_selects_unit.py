"""Trail.selects: account, region and global-service scope, Insight events (no organization involved)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from rampart.events.trail_record import TrailEvent
from rampart.services.cloudtrail.trails import Trail

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BASE = Trail("arn:aws:cloudtrail:us-east-1:111122223333:trail/t", "t", "111122223333", "us-east-1", "b", None,
             None, True, False, False, None, False, True, NOW, NOW, ())


def ev(source: str = "ec2.amazonaws.com", region: str = "us-east-1", account: str = "111122223333",
       category: str = "Management") -> TrailEvent:
    return TrailEvent("e", account, region, NOW, source, "X", False, category, None, None, (), None, {})


CASES = [
    ("home region", {}, ev(), True),
    ("other region", {}, ev(region="eu-west-1"), False),
    ("multi-region", {"multi_region": True}, ev(region="eu-west-1"), True),
    ("other account", {}, ev(account="999988887777"), False),
    ("global with include", {}, ev("iam.amazonaws.com"), True),
    ("global without include", {"include_global": False}, ev("iam.amazonaws.com"), False),
    ("global to other-region trail", {"home_region": "eu-west-1"}, ev("iam.amazonaws.com"), True),
    ("sts regional", {"include_global": False}, ev("sts.amazonaws.com", region="eu-west-1"), False),
    ("insight off", {}, ev(category="Insight"), False),
    ("insight on", {"insight_types": ("ApiCallRateInsight",)}, ev(category="Insight"), True),
    ("data by default", {}, ev("s3.amazonaws.com", category="Data"), False),
]


@pytest.mark.parametrize(("label", "changes", "event", "expected"), CASES, ids=[c[0] for c in CASES])
def test_selects(label: str, changes: dict[str, object], event: TrailEvent, expected: bool) -> None:
    assert dataclasses.replace(BASE, **changes).selects(event) is expected
