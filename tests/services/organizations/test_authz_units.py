"""Table-driven tests of the pure parts of Organizations' authorization: id shapes and ARN parts."""

from __future__ import annotations

import pytest

from rampart.services.organizations.authz import _arn_parts, kind_of, policy_arn
from rampart.services.organizations.store import Org

ORG = Org("o-abcdefghij", "111122223333", "r-ab12", "ALL", ("SERVICE_CONTROL_POLICY",))


@pytest.mark.parametrize(("resource_id", "kind"), [
    ("123456789012", "account"),
    ("12345678901", None),
    ("12345678901a", None),
    ("ou-ab12-abcdefgh", "ou"),
    ("r-ab12", "root"),
    ("p-FullAWSAccess", "policy"),
    ("h-abcdefghij", "handshake"),
    ("p-", None),
    ("o-abcdefghij", None),
    ("", None),
])
def test_kind_of(resource_id: str, kind: str | None) -> None:
    assert kind_of(resource_id) == kind


@pytest.mark.parametrize(("policy_id", "policy_type", "managed", "arn"), [
    ("p-FullAWSAccess", "SERVICE_CONTROL_POLICY", True,
     "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"),
    ("p-RCPFullAWSAccess", "RESOURCE_CONTROL_POLICY", True,
     "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess"),
    ("p-12345678", "SERVICE_CONTROL_POLICY", False,
     "arn:aws:organizations::111122223333:policy/o-abcdefghij/service_control_policy/p-12345678"),
])
def test_policy_arn(policy_id: str, policy_type: str, managed: bool, arn: str) -> None:
    assert policy_arn(ORG, policy_id, policy_type, managed) == arn


@pytest.mark.parametrize(("arn", "parts"), [
    ("arn:aws:organizations::111122223333:ou/o-abcdefghij/ou-ab12-abcdefgh", ("o-abcdefghij", "ou-ab12-abcdefgh")),
    ("arn:aws:organizations::111122223333:account/o-abcdefghij/444455556666", ("o-abcdefghij", "444455556666")),
    ("arn:aws:organizations::111122223333:root/o-abcdefghij/r-ab12", ("o-abcdefghij", "r-ab12")),
    ("arn:aws:organizations::111122223333:policy/o-abcdefghij/service_control_policy/p-12345678",
     ("o-abcdefghij", "p-12345678")),
    ("arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess", None),
    ("arn:aws:organizations::111122223333:handshake/o-abcdefghij/invite/h-1234567890", None),
    ("arn:aws:organizations::111122223333:organization/o-abcdefghij", None),
    ("not-an-arn", None),
])
def test_arn_parts(arn: str, parts: tuple[str, str] | None) -> None:
    assert _arn_parts(arn) == parts
