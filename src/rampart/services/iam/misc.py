"""Small account-level IAM operations.

- SetSecurityTokenServicePreferences: the global STS endpoint's token version,
  kept as an ``iam_entities`` row of kind ``account-setting`` named
  ``sts-preferences`` (``global_endpoint_token_version`` reads it, for
  GetAccountSummary's GlobalEndpointTokenVersion).
- Get/PutAccountProperties: ``Namespace/PropertyName`` settings, kept in the
  ``account-properties`` row of the same kind.
- ListPoliciesGrantingServiceAccess: which of an identity's policies allow any
  action of each service, by the statement scan ``last_accessed`` uses.
- UpdateOpenIDConnectProvider: the trusted identity propagation settings of an
  OIDC provider (context provider, IAM Identity Center instance), kept in the
  provider's data beside what ``providers`` stores.
"""

from __future__ import annotations

import re
from typing import Any

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.authz import identity_policies
from rampart.services.iam.errors import InvalidInput
from rampart.services.iam.last_accessed import granted_namespaces, service_names, target
from rampart.services.iam.providers import require_provider
from rampart.services.iam.users import Conn

ACCOUNT_SETTING = "account-setting"
STS_PREFERENCES = "sts-preferences"
ACCOUNT_PROPERTIES = "account-properties"
DEFAULT_TOKEN_VERSION = "v1Token"
_PROPERTY_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*/[A-Za-z0-9_-]+")
_ENTITY_TYPE = {store.USER: "USER", store.GROUP: "GROUP", store.ROLE: "ROLE"}


# --- account settings rows -------------------------------------------------------------------


def _setting(conn: Conn, account_id: str, name: str) -> dict[str, Any]:
    found = store.get_entity(conn, account_id, ACCOUNT_SETTING, name)
    return dict(found.data) if found else {}


def _save_setting(call: Call, name: str, data: dict[str, Any], *, merge: bool = False) -> None:
    """Create or replace (or, with ``merge``, extend) one settings row of the calling account."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        found = store.get_entity(s, account_id, ACCOUNT_SETTING, name)
        if found is not None:
            data = {**found.data, **data} if merge else data
            store.update_entity(s, found, data=data)
            return
        store.insert_entity(
            s, account_id, ACCOUNT_SETTING, name, data=data, created_at=call.received_at,
            entity_id=f"{account_id}-{name}", arn=f"arn:aws:iam::{account_id}:{ACCOUNT_SETTING}/{name}",
        )


def global_endpoint_token_version(conn: Conn, account_id: str) -> int:
    """1 or 2: the version GetAccountSummary reports as GlobalEndpointTokenVersion."""
    version = _setting(conn, account_id, STS_PREFERENCES).get("GlobalEndpointTokenVersion", DEFAULT_TOKEN_VERSION)
    return 2 if version == "v2Token" else 1


@handler("iam", "SetSecurityTokenServicePreferences")
def set_security_token_service_preferences(call: Call, params: dict[str, Any]) -> None:
    """Choose v1 (default Regions only) or v2 (all Regions) tokens from the global STS endpoint."""
    _save_setting(call, STS_PREFERENCES, {"GlobalEndpointTokenVersion": params["GlobalEndpointTokenVersion"]})


@handler("iam", "GetAccountProperties")
def get_account_properties(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every property set with PutAccountProperties."""
    with call.gateway.db.read() as conn:
        return {"Properties": _setting(conn, call.account_id or "", ACCOUNT_PROPERTIES)}


@handler("iam", "PutAccountProperties")
def put_account_properties(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Set properties of one namespace; the others keep their values."""
    given: dict[str, str] = params.get("Properties") or {}
    if not given:
        raise InvalidInput("At least one property must be specified.")
    for key in given:
        if not _PROPERTY_KEY.fullmatch(key):
            raise InvalidInput(f"Property key {key} must have the form Namespace/PropertyName.")
    if len({key.split("/", 1)[0] for key in given}) > 1:
        raise InvalidInput("All properties in a request must belong to the same namespace.")
    _save_setting(call, ACCOUNT_PROPERTIES, dict(given), merge=True)
    return {}


# --- ListPoliciesGrantingServiceAccess ---------------------------------------------------------


def _policy_entry(source: Any, kind: str, name: str) -> dict[str, Any]:
    """PolicyGrantingServiceAccess for one policy source of ``identity_policies``."""
    if source.source_type in ("aws-managed", "user-managed"):
        return {"PolicyName": source.policy_id.rsplit("/", 1)[-1], "PolicyType": "MANAGED",
                "PolicyArn": source.policy_id}
    owner_kind = {"user": store.USER, "group": store.GROUP, "role": store.ROLE}.get(source.source_type, kind)
    return {"PolicyName": source.policy_id, "PolicyType": "INLINE", "EntityType": _ENTITY_TYPE[owner_kind],
            "EntityName": source.owner or name}


@handler("iam", "ListPoliciesGrantingServiceAccess")
def list_policies_granting_service_access(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Per namespace, the identity's policies (a user's groups' too) that allow any of its actions."""
    account_id = call.account_id or ""
    namespaces: list[str] = params["ServiceNamespaces"]
    known = service_names()
    for namespace in namespaces:
        if namespace not in known:
            raise InvalidInput(f"The service namespace {namespace} is not valid.")
    with call.gateway.db.read() as conn:
        kind, name = target(conn, account_id, params["Arn"])
        if kind not in _ENTITY_TYPE or name is None:
            raise InvalidInput(f"ARN {params['Arn']} must name a user, group or role.")
        found = identity_policies(conn, account_id, kind, name)
    sources = found.identity if found else ()
    entries = []
    for namespace in dict.fromkeys(namespaces):
        policies: list[dict[str, Any]] = []
        for source in sources:
            entry = _policy_entry(source, kind, name)
            if namespace in granted_namespaces(source.document) and entry not in policies:
                policies.append(entry)
        entries.append({"ServiceNamespace": namespace, "Policies": policies})
    return {"PoliciesGrantingServiceAccess": entries, "IsTruncated": False}


# --- UpdateOpenIDConnectProvider -----------------------------------------------------------------


def _oidc_change(params: dict[str, Any]) -> tuple[str, Any]:
    """(data member, new value or None to remove): exactly one change per request, as IAM requires."""
    changes = [
        ("ContextProvider", params.get("ContextProvider")) if params.get("ContextProvider") else None,
        ("ContextProvider", None) if params.get("RemoveContextProvider") else None,
        ("IdentityCenterInstanceArn", params.get("IdentityCenterInstanceArn"))
        if params.get("IdentityCenterInstanceArn") else None,
        ("IdentityCenterInstanceArn", None) if params.get("RemoveIdentityCenterInstance") else None,
    ]
    given = [c for c in changes if c is not None]
    if len(given) != 1:
        raise InvalidInput(
            "Specify exactly one of ContextProvider, RemoveContextProvider, IdentityCenterInstanceArn "
            "or RemoveIdentityCenterInstance."
        )
    return given[0]


@handler("iam", "UpdateOpenIDConnectProvider")
def update_open_id_connect_provider(call: Call, params: dict[str, Any]) -> None:
    """Set or remove the provider's context provider or its IAM Identity Center instance."""
    member, value = _oidc_change(params)
    with call.gateway.db.session() as s:
        provider = require_provider(s, call.account_id or "", store.OIDC_PROVIDER, params["OpenIDConnectProviderArn"])
        data = dict(provider.data)
        if member == "ContextProvider" and value is None and data.get("IdentityCenterInstanceArn"):
            raise InvalidInput("Remove the IAM Identity Center instance before removing the context provider.")
        if value is None:
            data.pop(member, None)
        else:
            data[member] = value
        store.update_entity(s, provider, data=data)
