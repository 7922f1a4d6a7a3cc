"""Pure parts of log file delivery: the key layout and the file bodies."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import re

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rampart.services.cloudtrail.delivery import (
    INSIGHT,
    LOG,
    log_file_body,
    log_file_key,
)

AT = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
UNIQUE = re.compile(r"[A-Za-z0-9]{16}")


@pytest.mark.parametrize(
    ("prefix", "kind", "org", "expected"),
    [
        (None, LOG, None,
         "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/04/111122223333_CloudTrail_eu-west-1_20260304T0506Z_U.json.gz"),
        ("logs", LOG, None,
         ("logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/04/"
         "111122223333_CloudTrail_eu-west-1_20260304T0506Z_U.json.gz")),
        ("a/b/", LOG, None,
         ("a/b/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/03/04/"
         "111122223333_CloudTrail_eu-west-1_20260304T0506Z_U.json.gz")),
        ("", INSIGHT, None,
         ("AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2026/03/04/"
         "111122223333_CloudTrail-Insight_eu-west-1_20260304T0506Z_U.json.gz")),
        (None, LOG, "o-abc123def4",
         ("AWSLogs/o-abc123def4/111122223333/CloudTrail/eu-west-1/2026/03/04/"
         "111122223333_CloudTrail_eu-west-1_20260304T0506Z_U.json.gz")),
    ],
)
def test_key_layout(prefix: str | None, kind: str, org: str | None, expected: str) -> None:
    key = log_file_key(prefix=prefix, account_id="111122223333", region="eu-west-1", kind=kind, at=AT,
                       org_id=org, unique="U")
    assert key == expected


def test_key_unique_part_is_16_alphanumerics_and_time_is_utc() -> None:
    later = AT.astimezone(dt.timezone(dt.timedelta(hours=2)))
    keys = {log_file_key(prefix=None, account_id="1" * 12, region="us-east-1", kind=LOG, at=later) for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert key.startswith("AWSLogs/111111111111/CloudTrail/us-east-1/2026/03/04/111111111111_CloudTrail_")
        assert "_20260304T0506Z_" in key
        assert UNIQUE.fullmatch(key.rsplit("_", 1)[1].removesuffix(".json.gz"))


@given(st.lists(st.dictionaries(st.text(max_size=5), st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8), max_size=4), max_size=8))
def test_body_round_trips_and_hashes_the_uncompressed_json(records: list[dict[str, object]]) -> None:
    body = log_file_body(records)
    raw = gzip.decompress(body.gzipped)
    assert orjson.loads(raw) == {"Records": records}
    assert body.sha256 == hashlib.sha256(raw).hexdigest()
    assert log_file_body([orjson.dumps(r) for r in records]) == body  # bytes in, same file; deterministic
