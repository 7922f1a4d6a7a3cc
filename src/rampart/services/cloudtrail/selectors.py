"""Which events a trail takes: event selectors (basic and advanced), validated and matched.

Pure: no storage, no clock. ``validate_basic`` / ``validate_advanced`` apply
AWS's rules to PutEventSelectors input and return the normalized selectors
GetEventSelectors answers; ``matches`` decides one event against stored
selectors. With no selectors a trail logs every management event and no
data events (AWS's default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rampart.events.trail_record import TrailEvent
from rampart.services.cloudtrail.errors import (
    InvalidEventSelectorsException,
    InvalidInsightSelectorsException,
    InvalidParameterCombinationException,
)

MAX_SELECTORS = 5
MAX_DATA_RESOURCES = 250
MAX_ADVANCED_SELECTORS = 5
MAX_ADVANCED_VALUES = 500
READ_WRITE_TYPES = ("ReadOnly", "WriteOnly", "All")
EXCLUDABLE_SOURCES = frozenset({"kms.amazonaws.com", "rdsdata.amazonaws.com"})

# Basic selectors' data resource types and the prefix every value must carry ("arn:aws:s3" alone: all).
BASIC_DATA_TYPES: dict[str, tuple[str, ...]] = {
    "AWS::S3::Object": ("arn:aws:s3",),
    "AWS::Lambda::Function": ("arn:aws:lambda",),
    "AWS::DynamoDB::Table": ("arn:aws:dynamodb",),
}
_S3_OBJECT_VALUE = re.compile(r"^arn:aws:s3:::([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/.*$")

OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")
ADVANCED_FIELDS = frozenset({
    "eventCategory", "eventSource", "eventName", "readOnly", "resources.type", "resources.ARN", "errorCode",
    "userIdentity.arn", "eventType", "sessionCredentialFromConsole", "eventTypeName", "vpcEndpointId",
})
MANAGEMENT_FIELDS = frozenset({"eventCategory", "readOnly", "eventSource", "eventType",
                               "sessionCredentialFromConsole", "userIdentity.arn", "errorCode", "eventName"})
EVENT_CATEGORIES = frozenset({"Management", "Data", "NetworkActivity"})

Selectors = Mapping[str, Any]
"""Stored selectors: {"EventSelectors": [...]} or {"AdvancedEventSelectors": [...]}; None means the default."""


def _bad(message: str) -> InvalidEventSelectorsException:
    return InvalidEventSelectorsException(message)


def choose_kind(params: Mapping[str, Any]) -> str:
    """Which kind PutEventSelectors was given: exactly one of EventSelectors / AdvancedEventSelectors."""
    basic, advanced = params.get("EventSelectors"), params.get("AdvancedEventSelectors")
    if basic is not None and advanced is not None:
        raise InvalidParameterCombinationException(
            "Both EventSelectors and AdvancedEventSelectors were provided; a trail uses one or the other.")
    if basic is None and advanced is None:
        raise InvalidParameterCombinationException(
            "Either EventSelectors or AdvancedEventSelectors must be specified.")
    return "EventSelectors" if basic is not None else "AdvancedEventSelectors"


# ---- basic selectors ---------------------------------------------------------------------------


def validate_basic(selectors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check basic event selectors against AWS's rules; the normalized list (defaults filled in)."""
    if not 1 <= len(selectors) <= MAX_SELECTORS:
        raise _bad(f"The number of event selectors ({len(selectors)}) is not valid: specify 1 to {MAX_SELECTORS}.")
    out = [_basic_one(selector) for selector in selectors]
    total = sum(len(resource["Values"]) for selector in out for resource in selector["DataResources"])
    if total > MAX_DATA_RESOURCES:
        raise _bad(f"Specify a valid number of DataResources.Values (0 to {MAX_DATA_RESOURCES}) for all your "
                   "selectors")
    return out


def _basic_one(selector: Mapping[str, Any]) -> dict[str, Any]:
    rw = selector.get("ReadWriteType", "All")
    if rw not in READ_WRITE_TYPES:
        raise _bad(f"Value {rw} for parameter ReadWriteType is not valid.")
    excluded = list(selector.get("ExcludeManagementEventSources") or [])
    for source in excluded:
        if source not in EXCLUDABLE_SOURCES:
            raise _bad(f"Value {source} for parameter ExcludeManagementEventSources is not valid. "
                       f"Valid values: {', '.join(sorted(EXCLUDABLE_SOURCES))}.")
    resources = [_data_resource(resource) for resource in selector.get("DataResources") or []]
    return {"ReadWriteType": rw, "IncludeManagementEvents": bool(selector.get("IncludeManagementEvents", True)),
            "DataResources": resources, "ExcludeManagementEventSources": excluded}


def _data_resource(resource: Mapping[str, Any]) -> dict[str, Any]:
    kind = resource.get("Type")
    if kind not in BASIC_DATA_TYPES:
        raise _bad(f"Value {kind} for parameter DataResources.Type is not valid. "
                   f"Valid values: {', '.join(BASIC_DATA_TYPES)}.")
    values = list(resource.get("Values") or [])
    if not values:
        raise _bad(f"DataResources of type {kind} must name at least one value.")
    for value in values:
        if not _valid_data_value(kind, value):
            raise _bad(f"Value {value} for DataResources.Values is invalid.")
    return {"Type": kind, "Values": values}


def _valid_data_value(kind: str, value: str) -> bool:
    """AWS's accepted forms: the bare service prefix (all resources), or a resource ARN (S3: bucket/prefix)."""
    (prefix,) = BASIC_DATA_TYPES[kind]
    if value in (prefix, prefix + ":::") if kind == "AWS::S3::Object" else value == prefix:
        return True
    if kind == "AWS::S3::Object":
        return bool(_S3_OBJECT_VALUE.match(value))
    return value.startswith(prefix + ":") and value.count(":") >= 6


def _rw_matches(rw: str, read_only: bool) -> bool:
    return rw == "All" or (rw == "ReadOnly") == read_only


def _basic_data_match(resource: Mapping[str, Any], event: TrailEvent) -> bool:
    """A data resource selects an event that touches a resource of its type whose ARN starts with a value."""
    (prefix,) = BASIC_DATA_TYPES[resource["Type"]]
    arns = [arn for kind, arn in event.resources if kind == resource["Type"]]
    for value in resource["Values"]:
        if value in (prefix, prefix + ":::"):
            if arns:
                return True
        elif any(arn.startswith(value) for arn in arns):
            return True
    return False


def basic_matches(selectors: Iterable[Mapping[str, Any]], event: TrailEvent) -> bool:
    """Whether any basic selector takes the event (management or data; never Insight events)."""
    for selector in selectors:
        if not _rw_matches(selector.get("ReadWriteType", "All"), event.read_only):
            continue
        if event.category == "Management":
            if selector.get("IncludeManagementEvents", True) and \
                    event.event_source not in (selector.get("ExcludeManagementEventSources") or ()):
                return True
        elif event.category == "Data" and any(_basic_data_match(r, event) for r in selector.get("DataResources") or ()):
            return True
    return False


# ---- advanced selectors ------------------------------------------------------------------------


def validate_advanced(selectors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check advanced event selectors against AWS's rules; the list as GetEventSelectors answers it."""
    if not 1 <= len(selectors) <= MAX_ADVANCED_SELECTORS:
        raise _bad(f"The number of advanced event selectors ({len(selectors)}) is not valid: "
                   f"specify 1 to {MAX_ADVANCED_SELECTORS}.")
    out = [_advanced_one(selector) for selector in selectors]
    total = sum(len(field[op]) for selector in out for field in selector["FieldSelectors"]
                for op in OPERATORS if op in field)
    if total > MAX_ADVANCED_VALUES:
        raise _bad(f"The total number of values for all conditions ({total}) exceeds the limit of "
                   f"{MAX_ADVANCED_VALUES}.")
    return out


def _advanced_one(selector: Mapping[str, Any]) -> dict[str, Any]:
    fields = [_field_selector(field) for field in selector.get("FieldSelectors") or []]
    if not fields:
        raise _bad("Each advanced event selector must have at least one field selector.")
    names = [field["Field"] for field in fields]
    if len(set(names)) != len(names):
        raise _bad("A field can be used only once in an advanced event selector.")
    by_name = {field["Field"]: field for field in fields}
    category = by_name.get("eventCategory")
    if category is None or set(category) - {"Field", "Equals"} or len(category.get("Equals", ())) != 1:
        raise _bad("Each advanced event selector must have one eventCategory field with one Equals value.")
    kind = category["Equals"][0]
    if kind not in EVENT_CATEGORIES:
        raise _bad(f"Value {kind} for eventCategory is not valid. Valid values: "
                   f"{', '.join(sorted(EVENT_CATEGORIES))}.")
    if kind == "Management":
        _check_management(by_name)
    else:
        _check_resource_type(by_name, kind)
    readonly = by_name.get("readOnly")
    if readonly is not None and (set(readonly) - {"Field", "Equals"}
                                 or not set(readonly["Equals"]) <= {"true", "false"}):
        raise _bad("The readOnly field supports only Equals with the value true or false.")
    out: dict[str, Any] = {"FieldSelectors": fields}
    if selector.get("Name"):
        out = {"Name": selector["Name"], **out}
    return out


def _field_selector(field: Mapping[str, Any]) -> dict[str, Any]:
    name = field.get("Field")
    if name not in ADVANCED_FIELDS:
        raise _bad(f"Value {name} for Field is not valid.")
    out: dict[str, Any] = {"Field": name}
    for op in OPERATORS:
        values = field.get(op)
        if values is None:
            continue
        if not values:
            raise _bad(f"The {op} operator of field {name} must have at least one value.")
        out[op] = [str(value) for value in values]
    if len(out) == 1:
        raise _bad(f"Field {name} must have at least one operator with values.")
    return out


def _check_management(by_name: Mapping[str, Mapping[str, Any]]) -> None:
    """Management selectors may only use a few fields; eventSource only to exclude kms or rdsdata."""
    extra = set(by_name) - {"eventCategory", "readOnly", "eventSource"}
    if extra:
        raise _bad(f"Field {min(extra)} is not supported for management events.")
    source = by_name.get("eventSource")
    if source is not None and (set(source) - {"Field", "NotEquals"}
                               or not set(source["NotEquals"]) <= EXCLUDABLE_SOURCES):
        raise _bad("For management events, eventSource supports only NotEquals with "
                   "kms.amazonaws.com or rdsdata.amazonaws.com.")


def _check_resource_type(by_name: Mapping[str, Mapping[str, Any]], kind: str) -> None:
    """Data (and network activity) selectors name one resource type (data) or event source (network)."""
    if kind == "Data":
        rtype = by_name.get("resources.type")
        if rtype is None or set(rtype) - {"Field", "Equals"} or len(rtype.get("Equals", ())) != 1:
            raise _bad("Each advanced event selector for data events must have one resources.type field "
                       "with one Equals value.")
        if not re.fullmatch(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+", rtype["Equals"][0]):
            raise _bad(f"Value {rtype['Equals'][0]} for resources.type is not valid.")
    elif "eventSource" not in by_name:
        raise _bad("Each advanced event selector for network activity events must have an eventSource field.")


def _field_values(field: str, event: TrailEvent, resource_type: str | None) -> list[str]:
    """The event's values for one advanced field (several for resources.*; empty when absent)."""
    body = event.body
    simple: dict[str, Any] = {
        "eventCategory": event.category, "eventSource": event.event_source, "eventName": event.event_name,
        "readOnly": "true" if event.read_only else "false", "errorCode": event.error_code,
        "userIdentity.arn": (body.get("userIdentity") or {}).get("arn"), "eventType": body.get("eventType"),
        "sessionCredentialFromConsole": body.get("sessionCredentialFromConsole"),
        "vpcEndpointId": body.get("vpcEndpointId"), "eventTypeName": body.get("eventType"),
    }
    if field == "resources.type":
        return [kind for kind, _ in event.resources]
    if field == "resources.ARN":
        return [arn for kind, arn in event.resources if resource_type is None or kind == resource_type]
    value = simple.get(field)
    return [] if value is None else [str(value).lower() if isinstance(value, bool) else str(value)]


def _operator_holds(op: str, wanted: Sequence[str], value: str | None) -> bool:
    """One operator on one value (None: the field is absent, which no positive operator matches)."""
    if op.startswith("Not"):
        if value is None:
            return True
        positive = op[3:]
        return not _operator_holds(positive, wanted, value)
    if value is None:
        return False
    if op == "Equals":
        return value in wanted
    if op == "StartsWith":
        return any(value.startswith(w) for w in wanted)
    return any(value.endswith(w) for w in wanted)  # EndsWith


def _field_matches(field: Mapping[str, Any], event: TrailEvent, resource_type: str | None) -> bool:
    """All operators of a field hold for the same value (any of the event's values for resources.*)."""
    values: list[str | None] = list(_field_values(field["Field"], event, resource_type)) or [None]
    return any(all(_operator_holds(op, field[op], value) for op in OPERATORS if op in field) for value in values)


def _advanced_one_matches(selector: Mapping[str, Any], event: TrailEvent) -> bool:
    fields = selector["FieldSelectors"]
    rtype = next((f["Equals"][0] for f in fields if f["Field"] == "resources.type" and "Equals" in f), None)
    return all(_field_matches(field, event, rtype) for field in fields)


def advanced_matches(selectors: Iterable[Mapping[str, Any]], event: TrailEvent) -> bool:
    """Whether any advanced selector takes the event (all its field selectors hold)."""
    return any(_advanced_one_matches(selector, event) for selector in selectors)


DEFAULT_SELECTORS: list[dict[str, Any]] = [
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
     "ExcludeManagementEventSources": []},
]


def matches(selectors: Selectors | None, event: TrailEvent) -> bool:
    """Whether stored selectors (None: the default) take a management or data event."""
    if selectors is None:
        return basic_matches(DEFAULT_SELECTORS, event)
    if is_advanced(selectors):
        return advanced_matches(selectors["AdvancedEventSelectors"], event)
    return basic_matches(selectors.get("EventSelectors") or (), event)


def is_advanced(selectors: Selectors | None) -> bool:
    """Advanced selectors may read any field of an event's record, basic ones only its columns and resources."""
    return selectors is not None and "AdvancedEventSelectors" in selectors


def has_custom(selectors: Selectors | None) -> bool:
    """HasCustomEventSelectors: anything other than the default was ever put."""
    return selectors is not None


# ---- insight selectors -------------------------------------------------------------------------

INSIGHT_TYPES = ("ApiCallRateInsight", "ApiErrorRateInsight")


def validate_insights(selectors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """PutInsightSelectors' list: known types, each at most once (an empty list turns Insights off)."""
    seen: list[str] = []
    for selector in selectors:
        kind = selector.get("InsightType")
        if kind not in INSIGHT_TYPES:
            raise InvalidInsightSelectorsException(
                f"Value {kind} for InsightType is not valid. Valid values: {', '.join(INSIGHT_TYPES)}.")
        if kind in seen:
            raise InvalidInsightSelectorsException(f"InsightType {kind} is specified more than once.")
        if selector.get("EventCategories"):
            raise InvalidInsightSelectorsException("EventCategories are supported only for event data stores.")
        seen.append(kind)
    return [{"InsightType": kind} for kind in seen]
