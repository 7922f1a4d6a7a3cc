"""IAM service-specific credentials: Git credentials for CodeCommit, Keyspaces passwords, Bedrock API keys.

Each credential is an ``iam_entities`` row of kind ``service-credential`` (the
kind column holds 24 characters) named by its ``ACCA`` id, with data
``{"UserName", "ServiceName", "Status", "ServiceUserName" | "ServiceCredentialAlias",
"SecretHash", "ExpirationDate"?}``. The generated password (or API key secret)
is returned once, by Create and Reset, and kept only as a slow salted scrypt
hash; ``verify_service_password`` is how a service would check one.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from typing import Any

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.certificates import (
    insert_owned,
    owned_by,
    random_id,
    settable_status,
)
from rampart.services.iam.errors import (
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
    ServiceNotSupported,
)
from rampart.services.iam.password_policy import hash_password, verify_hash
from rampart.services.iam.users import Conn, calling_user_name, require_user

SERVICE_CREDENTIAL = "service-credential"
# Services with user name + password credentials, and those with long-term API keys (alias + secret).
PASSWORD_SERVICES = frozenset({"codecommit.amazonaws.com", "cassandra.amazonaws.com"})
API_KEY_SERVICES = frozenset({"bedrock.amazonaws.com"})
PER_USER_PER_SERVICE = 2


def _check_service(name: str) -> str:
    if name not in PASSWORD_SERVICES | API_KEY_SERVICES:
        raise ServiceNotSupported(f"Service {name} is not supported for service-specific credentials.")
    return name


def _new_secret(entity_data: dict[str, Any]) -> tuple[str, str]:
    """(member name, value) of a fresh secret for the credential: a password or an API key."""
    if "ServiceCredentialAlias" in entity_data:
        raw = f"{entity_data['ServiceCredentialAlias']}:{secrets.token_urlsafe(40)}"
        return "ServiceCredentialSecret", "ABSK" + base64.b64encode(raw.encode()).decode("ascii")
    return "ServicePassword", base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _login_name(existing: list[store.Entity], user: str, account_id: str) -> str:
    """``user-at-account``, or ``user+N-at-account`` when that is taken (AWS's spelling)."""
    taken = {e.data.get("ServiceUserName") for e in existing}
    for n in range(len(existing) + 1):
        name = f"{user}{'' if n == 0 else f'+{n}'}-at-{account_id}"
        if name not in taken:
            return name
    raise AssertionError("unreachable: one of len(existing)+1 names is free")


def _status(entity: store.Entity, now: dt.datetime) -> str:
    expires = store.from_iso(entity.data.get("ExpirationDate"))
    return "Expired" if expires is not None and expires <= now else str(entity.data["Status"])


def _metadata(entity: store.Entity, now: dt.datetime) -> dict[str, Any]:
    """ServiceSpecificCredentialMetadata (no secret)."""
    out: dict[str, Any] = {
        "UserName": entity.data["UserName"],
        "Status": _status(entity, now),
        "CreateDate": entity.created_at,
        "ServiceSpecificCredentialId": entity.name,
        "ServiceName": entity.data["ServiceName"],
    }
    for member in ("ServiceUserName", "ServiceCredentialAlias"):
        if entity.data.get(member):
            out[member] = entity.data[member]
    expires = store.from_iso(entity.data.get("ExpirationDate"))
    if expires is not None:
        out["ExpirationDate"] = expires
    return out


def _owner(conn: Conn, call: Call, params: dict[str, Any]) -> str:
    """The stored name of the user the call is about (the calling user without UserName)."""
    name = calling_user_name(call, params)
    if name is None:
        raise NoSuchEntity("The root user has no service-specific credentials; specify UserName.")
    return require_user(conn, call.account_id or "", name).name


def _require(conn: Conn, account_id: str, user: str, credential_id: str) -> store.Entity:
    for entity in owned_by(conn, account_id, SERVICE_CREDENTIAL, user):
        if entity.name == credential_id:
            return entity
    raise NoSuchEntity(f"The Service Specific Credential with id {credential_id} cannot be found.")


def _expiration(service: str, days: int | None, now: dt.datetime) -> str | None:
    if days is None:
        return None
    if service not in API_KEY_SERVICES:
        raise InvalidInput("CredentialAgeDays is valid only for services that support long-term API keys.")
    return store.iso(now + dt.timedelta(days=days))


@handler("iam", "CreateServiceSpecificCredential")
def create_service_specific_credential(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new credential for one service (two per user and service); its secret is shown only now."""
    account_id = call.account_id or ""
    service = _check_service(params["ServiceName"])
    expiration = _expiration(service, params.get("CredentialAgeDays"), call.received_at)
    with call.gateway.db.session() as s:
        user = require_user(s, account_id, params["UserName"]).name
        same = [e for e in owned_by(s, account_id, SERVICE_CREDENTIAL, user) if e.data["ServiceName"] == service]
        if len(same) >= PER_USER_PER_SERVICE:
            quota = PER_USER_PER_SERVICE
            raise LimitExceeded(f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {quota}")
        data: dict[str, Any] = {"UserName": user, "ServiceName": service, "Status": "Active"}
        if service in API_KEY_SERVICES:
            data["ServiceCredentialAlias"] = f"BedrockAPIKey-{secrets.token_hex(2)}-at-{account_id}"
        else:
            data["ServiceUserName"] = _login_name(same, user, account_id)
        if expiration:
            data["ExpirationDate"] = expiration
        member, secret = _new_secret(data)
        data["SecretHash"] = hash_password(secret)
        entity = insert_owned(s, call, SERVICE_CREDENTIAL, random_id("ACCA", 21), data)
    return {"ServiceSpecificCredential": {**_metadata(entity, call.received_at), member: secret}}


@handler("iam", "ListServiceSpecificCredentials")
def list_service_specific_credentials(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A user's credentials (or every user's, with AllUsers), optionally for one service."""
    account_id = call.account_id or ""
    service = params.get("ServiceName")
    if service:
        _check_service(service)
    with call.gateway.db.read() as conn:
        if params.get("AllUsers"):
            found = store.list_entities(conn, account_id, SERVICE_CREDENTIAL)
        elif params.get("UserName") or getattr(call.caller.principal, "kind", None) != "root":
            found = owned_by(conn, account_id, SERVICE_CREDENTIAL, _owner(conn, call, params))
        else:
            found = []
    found = sorted(
        (e for e in found if not service or e.data["ServiceName"] == service),
        key=lambda e: (str(e.data["UserName"]).lower(), e.created_at, e.name),
    )
    chunk, extra = store.page(found, params, key=lambda e: f"{e.data['UserName'].lower()}|{e.created_at}|{e.name}")
    return {"ServiceSpecificCredentials": [_metadata(e, call.received_at) for e in chunk], **extra}


@handler("iam", "UpdateServiceSpecificCredential")
def update_service_specific_credential(call: Call, params: dict[str, Any]) -> None:
    """Activate or deactivate a credential."""
    status = settable_status(params["Status"])
    with call.gateway.db.session() as s:
        entity = _require(s, call.account_id or "", _owner(s, call, params), params["ServiceSpecificCredentialId"])
        store.update_entity(s, entity, data={**entity.data, "Status": status})


@handler("iam", "ResetServiceSpecificCredential")
def reset_service_specific_credential(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A new secret for the credential (the old one stops working); shown only now."""
    with call.gateway.db.session() as s:
        entity = _require(s, call.account_id or "", _owner(s, call, params), params["ServiceSpecificCredentialId"])
        member, secret = _new_secret(entity.data)
        entity = store.update_entity(s, entity, data={**entity.data, "SecretHash": hash_password(secret)})
    return {"ServiceSpecificCredential": {**_metadata(entity, call.received_at), member: secret}}


@handler("iam", "DeleteServiceSpecificCredential")
def delete_service_specific_credential(call: Call, params: dict[str, Any]) -> None:
    """Remove a credential for good."""
    with call.gateway.db.session() as s:
        entity = _require(s, call.account_id or "", _owner(s, call, params), params["ServiceSpecificCredentialId"])
        store.delete_entity(s, entity)


def verify_service_password(
    conn: Conn, account_id: str, service: str, login: str, secret: str, now: dt.datetime
) -> str | None:
    """The IAM user name an active credential for ``service`` belongs to, if ``login``/``secret`` match.

    ``login`` is the ServiceUserName (passwords) or the ServiceCredentialAlias (API keys).
    """
    for entity in store.list_entities(conn, account_id, SERVICE_CREDENTIAL):
        data = entity.data
        names = (data.get("ServiceUserName"), data.get("ServiceCredentialAlias"))
        if data["ServiceName"] != service or login not in names:
            continue
        if _status(entity, now) == "Active" and verify_hash(secret, data["SecretHash"]):
            return str(data["UserName"])
    return None
