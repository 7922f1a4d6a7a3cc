"""ListTrails pages (NextToken bound to account and region, InvalidTokenException otherwise); ListTags is one page.

AWS documents no ListTrails page size, and a region shows at most five trails
of an account's own, so this server runs with pages of two
(RAMPART_CLOUDTRAIL_LIST_TRAILS_PAGE_SIZE). ListTags' NextToken is "Reserved
for future use" in AWS's reference: one page, and a token given is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rampart.services.cloudtrail import tokens
from rampart.services.cloudtrail.api_trails import LIST_TRAILS_PAGE_SIZE_VARIABLE
from tests.conftest import Server, start_server
from tests.services.cloudtrail.support import trail_bucket

PAGE = 2


@pytest.fixture(scope="module")
def paged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(Path(tmp_path_factory.mktemp("paging")), extra_env={LIST_TRAILS_PAGE_SIZE_VARIABLE: str(PAGE)})
    try:
        yield running
    finally:
        running.stop()


def _tenant(server: Server, trails: int) -> tuple[str, dict[str, str], list[str]]:
    """A new account with ``trails`` trails in us-east-1: its id, root keys and the trail ARNs (sorted)."""
    account, keys = server.new_account("ct-pages")
    bucket = trail_bucket(server.client("s3", **keys), account, f"ct-pages-{secrets.token_hex(5)}")
    ct = server.client("cloudtrail", **keys)
    arns = [ct.create_trail(Name=f"t{secrets.token_hex(3)}", S3BucketName=bucket)["TrailARN"] for _ in range(trails)]
    return account, keys, sorted(arns)


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return caught.value.response["Error"]["Code"]


def test_list_trails_pages_through_every_trail_once(paged: Server) -> None:
    _, keys, arns = _tenant(paged, 5)
    ct = paged.client("cloudtrail", **keys)
    first = ct.list_trails()
    assert [t["TrailARN"] for t in first["Trails"]] == arns[:PAGE] and first["NextToken"]
    pages = list(ct.get_paginator("list_trails").paginate())
    assert [len(page["Trails"]) for page in pages] == [2, 2, 1] and "NextToken" not in pages[-1]
    assert [t["TrailARN"] for page in pages for t in page["Trails"]] == arns
    assert {t["HomeRegion"] for page in pages for t in page["Trails"]} == {"us-east-1"}


def test_a_page_holds_its_place_when_trails_come_and_go(paged: Server) -> None:
    _, keys, arns = _tenant(paged, 4)
    ct = paged.client("cloudtrail", **keys)
    first = ct.list_trails()
    ct.delete_trail(Name=arns[0])  # one already handed out: the next page must not skip arns[2]
    rest = ct.list_trails(NextToken=first["NextToken"])
    assert [t["TrailARN"] for t in rest["Trails"]] == arns[2:] and "NextToken" not in rest


def test_a_token_is_bound_to_its_account_and_region(paged: Server) -> None:
    _, keys, _ = _tenant(paged, 3)
    token = paged.client("cloudtrail", **keys).list_trails()["NextToken"]
    _, other, _ = _tenant(paged, 3)
    assert _code(lambda: paged.client("cloudtrail", **other).list_trails(NextToken=token)) == "InvalidTokenException"
    elsewhere = paged.client("cloudtrail", region_name="eu-west-1", **keys)
    assert _code(lambda: elsewhere.list_trails(NextToken=token)) == "InvalidTokenException"


@pytest.mark.parametrize("token", [
    "garbage", "=" * 8, "A", "t" * 3000, "ключ",
    tokens.seal(["LookupEvents", 1], [0, 0]),  # another listing's token (this server's own key)
    tokens.seal(["ListTrails", "123456789012", "us-east-1"], [7]),  # the right listing, a position not an ARN
])
def test_invalid_list_trails_tokens(paged: Server, token: str) -> None:
    assert _code(lambda: paged.client("cloudtrail").list_trails(NextToken=token)) == "InvalidTokenException"


def test_list_tags_is_one_page(paged: Server) -> None:
    _, keys, arns = _tenant(paged, 3)
    ct = paged.client("cloudtrail", **keys)
    listed = ct.list_tags(ResourceIdList=arns)
    assert [r["ResourceId"] for r in listed["ResourceTagList"]] == arns and "NextToken" not in listed
    token = ct.list_trails()["NextToken"]
    for given in (token, "garbage"):
        assert _code(lambda given=given: ct.list_tags(ResourceIdList=arns, NextToken=given)) == "InvalidTokenException"


@pytest.mark.parametrize(("scope", "position", "asked", "expected"), [
    (["L", "a"], ["arn:x"], ["L", "a"], ["arn:x"]),
    (["L", "a"], [1, 2], ["L", "a"], [1, 2]),
    (["L", "a"], ["arn:x"], ["L", "b"], None),  # another account
    (["L", "a", None], ["arn:x"], ["L", "a", ""], None),  # another query
])
def test_tokens_round_trip_only_for_their_scope(scope: list[Any], position: list[Any], asked: list[Any],
                                                expected: list[Any] | None) -> None:
    assert tokens.unseal(asked, tokens.seal(scope, position)) == expected


def test_an_edited_token_is_refused() -> None:
    token = tokens.seal(["L"], ["arn:x"])
    for at in range(len(token) - 2):  # the last characters may only carry base64 padding bits
        edited = token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]
        assert tokens.unseal(["L"], edited) is None, at
