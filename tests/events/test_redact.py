"""Secrets never reach call records: the model's sensitive members, and credentials it leaves unmarked."""

from __future__ import annotations

import pytest

from rampart.aws.models import service_model
from rampart.events.records import HIDDEN, redact


@pytest.mark.parametrize(
    ("service", "operation", "output", "values", "hidden", "kept"),
    [
        ("kms", "CreateGrant", True, {"GrantToken": "tok", "GrantId": "g1"}, "GrantToken", "GrantId"),
        ("kms", "RetireGrant", False, {"GrantToken": "tok", "KeyId": "k"}, "GrantToken", "KeyId"),
        ("kms", "Encrypt", False, {"Plaintext": b"secret", "KeyId": "k"}, "Plaintext", "KeyId"),
        ("iam", "CreateLoginProfile", False, {"Password": "pw", "UserName": "u"}, "Password", "UserName"),
    ],
)
def test_secret_members_are_hidden(
    service: str, operation: str, output: bool, values: dict, hidden: str, kept: str
) -> None:
    op = service_model(service).operation_model(operation)
    shape = op.output_shape if output else op.input_shape
    redacted = redact(shape, values)
    assert redacted[hidden] == HIDDEN
    assert redacted[kept] == values[kept]
