"""Trails: the stored rows, the ``Trail`` view other CloudTrail parts code against, and which events it takes.

Delivery iterates ``all_trails`` and asks ``Trail.selects`` per event;
delivery and digests report through ``note_status``, which GetTrailStatus
reads. Names follow AWS's rules (``check_name``); a trail is found by name or
ARN among those visible from a region: the account's own trails there, its
multi-region trails (shadow trails) and its organization's trails.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from rampart.events.trail_record import TrailEvent
from rampart.gateway.authorize import org_of_account
from rampart.services.cloudtrail import selectors as sel
from rampart.services.cloudtrail.errors import (
    CloudTrailARNInvalidException,
    InvalidTrailNameException,
    TrailNotFoundException,
)
from rampart.services.cloudtrail.tables_trails import ct_trails

Conn = Connection | Session

TRAIL_ARN = re.compile(r"^arn:aws:cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)$")
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|[._-](?=[A-Za-z0-9]))*$")

# Sources whose events are global service events: recorded once (in us-east-1) and taken only by trails
# that include global service events. STS counts when called on its global endpoint (us-east-1).
GLOBAL_SOURCES = frozenset({"iam.amazonaws.com", "organizations.amazonaws.com", "cloudfront.amazonaws.com",
                            "route53.amazonaws.com", "signin.amazonaws.com", "account.amazonaws.com"})


def trail_arn(region: str, account: str, name: str) -> str:
    """arn:aws:cloudtrail:<home region>:<account>:trail/<name>."""
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def check_name(name: str) -> None:
    """AWS's trail name rules; InvalidTrailNameException otherwise."""
    if len(name) < 3:
        raise InvalidTrailNameException("Trail name too short. Minimum allowed length: 3 characters. "
                                        f"Specified name length: {len(name)} characters.")
    if len(name) > 128:
        raise InvalidTrailNameException("Trail name too long. Maximum allowed length: 128 characters. "
                                        f"Specified name length: {len(name)} characters.")
    if not _NAME.match(name):
        raise InvalidTrailNameException(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), "
            "hyphens (-), and underscores (_), must start and end with a letter or number, and cannot have "
            "adjacent periods, hyphens or underscores.")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return
    raise InvalidTrailNameException("Trail name cannot be formatted as an IP address.")


@dataclass(frozen=True, slots=True)
class Trail:
    """One trail as the rest of CloudTrail sees it (delivery, digests, insights).

    ``selectors`` is None for the default (all management events), else the
    stored {"EventSelectors": [...]} or {"AdvancedEventSelectors": [...]}.
    """

    arn: str
    name: str
    account_id: str
    home_region: str
    bucket: str
    prefix: str | None
    sns_topic: str | None
    include_global: bool
    multi_region: bool
    organization: bool
    kms_key_id: str | None
    validation: bool
    logging: bool
    logging_started_at: dt.datetime | None
    created_at: dt.datetime
    insight_types: tuple[str, ...]
    selectors: Any = None
    cw_log_group: str | None = None
    cw_role: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def selects(self, event: TrailEvent) -> bool:
        """Whether the event belongs in this trail: account, region and global-event scope, then selectors."""
        if not self.account_in_scope(event.account_id) or not self._region_in_scope(event):
            return False
        if event.category == "Insight":
            kind = (event.body.get("insightDetails") or {}).get("insightType")
            return bool(self.insight_types) and (kind is None or kind in self.insight_types)
        return sel.matches(self.selectors, event)

    def account_in_scope(self, account_id: str) -> bool:
        """Own account; an organization trail also takes every account of the trail account's organization
        (whose callers may also name it by ARN)."""
        if account_id == self.account_id:
            return True
        if not self.organization:
            return False
        mine, theirs = org_of_account(self.account_id), org_of_account(account_id)
        return mine is not None and theirs is not None and mine.org_id == theirs.org_id

    def _region_in_scope(self, event: TrailEvent) -> bool:
        """Global service events only with include_global (any region); others: home region or all regions."""
        if is_global(event):
            return self.include_global
        return self.multi_region or event.region == self.home_region


def is_global(event: TrailEvent) -> bool:
    """A global service event (IAM, Organizations, STS's global endpoint, ...)."""
    return event.event_source in GLOBAL_SOURCES or (event.event_source == "sts.amazonaws.com"
                                                    and event.region == "us-east-1")


def _loads(text: str | None) -> Any:
    return orjson.loads(text) if text else None


def trail_of(row: Any) -> Trail:
    """A Trail from a selected ct_trails row."""
    insights = _loads(row.insights) or []
    return Trail(row.arn, row.name, row.account_id, row.home_region, row.bucket, row.prefix, row.sns_topic,
                 row.include_global, row.multi_region, row.organization, row.kms_key_id, row.validation,
                 row.logging, row.logging_started_at, row.created_at,
                 tuple(item["InsightType"] for item in insights), _loads(row.selectors), row.cw_log_group,
                 row.cw_role, _loads(row.tags) or {})


def all_trails(conn: Conn) -> list[Trail]:
    """Every trail of every account (delivery iterates them)."""
    return [trail_of(row) for row in conn.execute(select(ct_trails).order_by(ct_trails.c.arn))]


def get_trail(conn: Conn, arn: str) -> Trail | None:
    """The trail with this ARN, or None."""
    row = conn.execute(select(ct_trails).where(ct_trails.c.arn == arn)).one_or_none()
    return trail_of(row) if row is not None else None


def status_of(conn: Conn, arn: str) -> dict[str, str]:
    """The stored GetTrailStatus fields (strings: ISO-8601 times, error texts, "true"/"false")."""
    text = conn.execute(select(ct_trails.c.status).where(ct_trails.c.arn == arn)).scalar_one_or_none()
    return dict(_loads(text) or {})


def _status_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value


def note_status(session: Session, arn: str, **fields: Any) -> None:
    """Merge GetTrailStatus fields (LatestDeliveryTime=datetime, LatestDeliveryError=str, ...); None clears one.

    Unknown trails are ignored: a trail deleted while its delivery ran has no status to keep.
    """
    current = session.execute(select(ct_trails.c.status).where(ct_trails.c.arn == arn)).scalar_one_or_none()
    if current is None:
        return
    merged = dict(_loads(current) or {})
    for name, value in fields.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = _status_value(value)
    session.execute(update(ct_trails).where(ct_trails.c.arn == arn).values(status=orjson.dumps(merged).decode()))


# ---- finding a trail as a caller names it ---------------------------------------------------------


def visible(conn: Conn, account_id: str, region: str) -> list[Trail]:
    """The trails a caller sees from ``region``: own trails there, own multi-region trails, org trails."""
    own = [t for t in (trail_of(r) for r in conn.execute(select(ct_trails).where(
        ct_trails.c.account_id == account_id))) if t.home_region == region or t.multi_region]
    org = org_of_account(account_id)
    if org is None:
        return own
    others = [trail_of(r) for r in conn.execute(select(ct_trails).where(
        ct_trails.c.organization.is_(True), ct_trails.c.account_id != account_id))]
    shared = [t for t in others if (t.home_region == region or t.multi_region) and _same_org(t.account_id, org.org_id)]
    return own + shared


def log_org_id(trail: Trail) -> str | None:
    """The organization id in an organization trail's log and digest key paths (None: not one, or no org now)."""
    if not trail.organization:
        return None
    found = org_of_account(trail.account_id)
    return found.org_id if found is not None else None


def _same_org(account_id: str, org_id: str) -> bool:
    found = org_of_account(account_id)
    return found is not None and found.org_id == org_id


def find(conn: Conn, account_id: str, region: str, name_or_arn: str) -> Trail:
    """The trail a Name / TrailName member names, among the visible ones; AWS's errors otherwise."""
    matched = TRAIL_ARN.match(name_or_arn)
    if matched is None:
        check_name(name_or_arn)
        for trail in visible(conn, account_id, region):
            if trail.name == name_or_arn and trail.account_id == account_id:
                return trail
        # AWS names the ARN the name would have in the caller's account (a member must give the
        # organization trail's full ARN).
        unknown = trail_arn(region, account_id, name_or_arn)
        raise TrailNotFoundException(f"Unknown trail: {unknown} for the user: {account_id}")
    for trail in visible(conn, account_id, region):
        if trail.arn == name_or_arn:
            return trail
    if matched.group(2) != account_id:
        raise CloudTrailARNInvalidException(wrong_account_message(account_id))
    raise TrailNotFoundException(f"Unknown trail: {name_or_arn} for the user: {account_id}")


def wrong_account_message(account_id: str) -> str:
    """AWS's CloudTrailARNInvalidException text for another account's trail ARN."""
    return f"AccountID in ARN is wrong, you can only access resources with AccountID {account_id}."
