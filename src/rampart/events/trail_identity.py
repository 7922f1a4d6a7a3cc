"""CloudTrail's userIdentity element, in each of its forms, from the caller's principal object.

The forms follow "CloudTrail userIdentity element" (CloudTrail User Guide):
Root, IAMUser, AssumedRole and FederatedUser (with sessionContext for
temporary credentials), WebIdentityUser and SAMLUser (the unsigned
AssumeRoleWithWebIdentity / AssumeRoleWithSAML calls themselves, identified
by their token), AWSService (a service acting on a customer's resources,
``invokedBy``) and AWSAccount (anonymous S3 requests, ``ANONYMOUS_PRINCIPAL``;
the caller in the resource owner's copy of a cross-account event).
Detections key on these exact spellings, so they are not "improved" here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rampart.events.records import CallRecord

ANONYMOUS_ACCOUNT = "ANONYMOUS_PRINCIPAL"
_FEDERATION_CALLS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


@dataclass(frozen=True, slots=True)
class Identity:
    """The userIdentity element and LookupEvents' Username for it (None: no user name applies)."""

    element: dict[str, Any]
    username: str | None


def iso_seconds(moment: dt.datetime) -> str:
    """CloudTrail's timestamp spelling: UTC, second precision, ``Z``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")[:19] + "Z"  # isoformat: a tenth of strftime


def user_identity(record: CallRecord, owner_account: str | None = None) -> Identity | None:
    """The identity of the call's caller; None when nobody is known (nothing to record).

    ``owner_account`` is the account of the resource an anonymous caller acted
    on: AWS records anonymous S3 requests there.
    """
    principal = record.principal
    if principal is None:
        if record.service == "sts" and record.operation in _FEDERATION_CALLS:
            return _federation_caller(record)
        return _anonymous() if owner_account is not None else None
    kind = getattr(principal, "kind", None)
    if kind == "service":
        service = principal.service
        return Identity({"type": "AWSService", "invokedBy": service}, service)
    session = getattr(principal, "session", None)
    if session is not None:
        return _session_identity(principal, session, record.access_key_id)
    if kind == "root":
        return Identity(_base("Root", principal, record.access_key_id), "root")
    if kind == "user":
        element = _base("IAMUser", principal, record.access_key_id)
        element["userName"] = principal.name
        return Identity(element, principal.name)
    return Identity({"type": "Unknown", "principalId": getattr(principal, "user_id", None) or "",
                     "accountId": getattr(principal, "account_id", None) or record.account_id}, None)


def owner_view(caller: dict[str, Any]) -> Identity:
    """The caller as the resource owner's copy of a cross-account event shows it: an ``AWSAccount``.

    Only the caller's principalId and account; its ARN, access key and
    session details stay with the caller's own copy (the AWSAccount form of
    the AssumeRole and VPC-endpoint examples in the IAM and CloudTrail guides).
    """
    return Identity({"type": "AWSAccount", "principalId": caller.get("principalId") or "",
                     "accountId": caller.get("accountId") or ""}, None)


def _base(kind: str, principal: Any, access_key_id: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": kind,
        "principalId": principal.user_id,
        "arn": principal.arn,
        "accountId": principal.account_id,
    }
    if access_key_id:
        element["accessKeyId"] = access_key_id
    return element


def _anonymous() -> Identity:
    return Identity({"type": "AWSAccount", "principalId": "", "accountId": ANONYMOUS_ACCOUNT}, None)


def _attributes(session: Any) -> dict[str, str]:
    return {"creationDate": iso_seconds(session.issued_at),
            "mfaAuthenticated": "true" if session.mfa_authenticated else "false"}


def _session_identity(principal: Any, session: Any, access_key_id: str | None) -> Identity:
    """Temporary credentials: the session's own identity plus sessionContext (who issued it, when, MFA)."""
    kind = session.kind
    if kind == "root":
        element = _base("Root", principal, access_key_id)
        element["sessionContext"] = {"attributes": _attributes(session)}
        return Identity(element, "root")
    if kind == "user":  # GetSessionToken: still the IAM user
        element = _base("IAMUser", principal, access_key_id)
        element["userName"] = session.issuer_name
        element["sessionContext"] = {"attributes": _attributes(session)}
        return Identity(element, session.issuer_name)
    if kind == "federated-user":
        element = _base("FederatedUser", principal, access_key_id)
        element["sessionContext"] = {"sessionIssuer": _federation_issuer(session), "attributes": _attributes(session)}
        return Identity(element, session.name)
    return _assumed_role(principal, session, access_key_id)


def _federation_issuer(session: Any) -> dict[str, Any]:
    """Who called GetFederationToken: the IAM user (its unique id when the token carries it), or root."""
    if str(session.issuer_arn or "").endswith(":root"):
        return {"type": "Root", "principalId": session.account_id, "arn": session.issuer_arn,
                "accountId": session.account_id}
    issuer: dict[str, Any] = {"type": "IAMUser"}
    if getattr(session, "issuer_id", None):  # tokens sealed before issuer_id existed lack it
        issuer["principalId"] = session.issuer_id
    issuer.update({"arn": session.issuer_arn, "accountId": session.account_id, "userName": session.issuer_name})
    return issuer


def _assumed_role(principal: Any, session: Any, access_key_id: str | None) -> Identity:
    element = _base("AssumedRole", principal, access_key_id)
    role_id = str(session.user_id).partition(":")[0]
    context: dict[str, Any] = {
        "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": session.issuer_arn,
                          "accountId": session.account_id, "userName": session.issuer_name},
    }
    if session.federated_provider:
        context["webIdFederationData"] = {"federatedProvider": session.federated_provider, "attributes": {}}
    context["attributes"] = _attributes(session)
    if session.source_identity:
        context["sourceIdentity"] = session.source_identity
    element["sessionContext"] = context
    return Identity(element, session.name)


def _federation_caller(record: CallRecord) -> Identity:
    """The outside identity behind AssumeRoleWithWebIdentity / AssumeRoleWithSAML, from the answer.

    A failed call has no answer: the type is still known, the user is not.
    """
    out = record.response_elements or {}
    if record.operation == "AssumeRoleWithSAML":
        qualifier, subject = out.get("NameQualifier"), out.get("Subject")
        element: dict[str, Any] = {"type": "SAMLUser", "principalId": f"{qualifier}:{subject}" if subject else "",
                                   "userName": subject or ""}
        if qualifier:
            element["identityProvider"] = qualifier
        return Identity(element, subject)
    subject, audience = out.get("SubjectFromWebIdentityToken"), out.get("Audience")
    provider = str(out.get("Provider") or "")
    host = provider.partition(":oidc-provider/")[2] or provider
    element = {"type": "WebIdentityUser",
               "principalId": f"{host}:{audience}:{subject}" if subject else "", "userName": subject or ""}
    if host:
        element["identityProvider"] = host
    return Identity(element, subject)
