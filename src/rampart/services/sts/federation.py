"""AssumeRoleWithWebIdentity and AssumeRoleWithSAML: an outside identity becomes a role session.

Neither call needs AWS credentials: the token (or assertion) is the
credential, verified against the IAM provider in the role's account
(``oidc``, ``saml``). Authorization is the role's trust policy alone, asked
of the engine with the provider as a ``Federated`` principal and the token's
claims as condition keys (``<provider>:sub``, ``saml:sub``, ...); session
tags need ``sts:TagSession`` and a source identity ``sts:SetSourceIdentity``
in the same trust policy, as AWS requires. The gateway therefore lets these
two operations through its own authorize step (``gateway.authorize``'s
UNCONDITIONAL set; the pipeline accepts them unsigned): the identity policies of whoever signed the request are not part of AWS's
question, and an unsigned request has none.

A missing role and a trust policy that refuses both answer AccessDenied with
the same words, so an anonymous caller learns nothing about which roles exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rampart.gateway.authorize import Subject, org_of_account, request_context
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.policy import PolicySet, Principal, PrincipalType
from rampart.services.iam import store
from rampart.services.sts import oidc, saml
from rampart.services.sts.assume import (
    RoleGrant,
    assume_role_checks,
    policy_arns_of,
    role_account,
)
from rampart.services.sts.sessions import issue_role_session

_KEYS = oidc.KeyCache()


@dataclass(frozen=True)
class Assumption:
    """One federated role assumption, once the token is verified: what the trust check and session need."""

    provider_arn: str
    action: str
    session_name: str
    claims_context: Mapping[str, Any]
    tags: Mapping[str, str]
    transitive_tag_keys: tuple[str, ...]
    source_identity: str | None = None


def _resource_org_policies(account_id: str) -> PolicySet:
    """The trust check's policies beside the trust policy: the role's account's RCPs, if a member's.

    AWS applies RCPs to sts:AssumeRole* on a member account's roles; SCPs
    never (the caller is outside AWS), nor RCPs in the management account.
    """
    org = org_of_account(account_id)
    if org is None or org.management or not org.rcp_levels:
        return PolicySet()
    return PolicySet(rcp_levels=org.rcp_levels)


def _resource_org_keys(account_id: str) -> dict[str, Any]:
    """aws:ResourceOrgID and aws:ResourceOrgPaths of the role's account (none outside an organization)."""
    org = org_of_account(account_id)
    if org is None:
        return {}
    return {"aws:ResourceOrgID": org.org_id, "aws:ResourceOrgPaths": [org.paths]}


def grant(call: Call, params: Mapping[str, Any], assumption: Assumption, duration: int | None) -> RoleGrant:
    """The shared assume-role checks, asked for the provider as a Federated principal.

    The principal has no ARN of its own (AWS's AccessDenied then reads "Not
    authorized to perform ..."), the role's account, and no identity
    policies: the trust policy alone decides. The claims' condition keys
    join the request's global keys.
    """
    account_id = role_account(params["RoleArn"]) or ""
    caller = Principal(PrincipalType.FEDERATED_USER, "", account_id, federated_provider=assumption.provider_arn)
    subject = Subject(caller, _resource_org_policies(account_id))
    context = {**request_context(call, {}, subject), **assumption.claims_context, **_resource_org_keys(account_id)}
    return assume_role_checks(
        call, params["RoleArn"], assumption.session_name, duration,
        subject=subject, context=context, action=assumption.action,
        policy=params.get("Policy"), policy_arns=policy_arns_of(params),
        tags=assumption.tags, transitive_tag_keys=assumption.transitive_tag_keys,
        source_identity=assumption.source_identity,
    )


def issue(call: Call, assumption: Assumption, granted: RoleGrant, expires_at: dt.datetime) -> dict[str, Any]:
    """Credentials and the members both operations answer (AssumedRoleUser, PackedPolicySize, ...)."""
    return issue_role_session(
        call, granted, assumption.session_name, expires_at, source_identity=assumption.source_identity,
        federated_provider=assumption.provider_arn, extra_context=assumption.claims_context,
    )


# --- AssumeRoleWithWebIdentity -------------------------------------------------------------------


def _oidc_provider(call: Call, account_id: str, issuer: str) -> store.Entity:
    with call.gateway.db.read() as conn:
        provider = store.get_entity(conn, account_id, store.OIDC_PROVIDER, oidc.provider_name(issuer))
    if provider is None:
        raise oidc.InvalidIdentityToken(f"No OpenIDConnect provider found in your account for {issuer}")
    return provider


@handler("sts", "AssumeRoleWithWebIdentity")
def assume_role_with_web_identity(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Trade an OIDC ID token for role credentials: signature, iss, aud, times, then the trust policy."""
    token: str = params["WebIdentityToken"]
    account_id = role_account(params["RoleArn"]) or ""
    header, unverified = oidc.unverified_claims(token)
    provider = _oidc_provider(call, account_id, unverified["iss"])
    url = str(provider.data.get("Url", ""))
    if unverified["iss"].rstrip("/") != url.rstrip("/"):
        raise oidc.InvalidIdentityToken(f"No OpenIDConnect provider found in your account for {unverified['iss']}")
    thumbprints = provider.data.get("ThumbprintList", [])
    key = _KEYS.key(url, header.get("kid"), thumbprints)
    identity = oidc.verify_token(token, unverified["iss"], provider.data.get("ClientIDList", []), key,
                                 call.received_at)
    tags, transitive = oidc.session_tags(identity.claims)
    assumption = Assumption(
        provider.arn, "sts:AssumeRoleWithWebIdentity", params["RoleSessionName"],
        identity.condition_keys(), tags, transitive, oidc.source_identity(identity.claims),
    )
    granted = grant(call, params, assumption, params.get("DurationSeconds"))
    out = issue(call, assumption, granted, call.received_at + dt.timedelta(seconds=granted.duration))
    out.update({
        "SubjectFromWebIdentityToken": identity.subject,
        "Audience": identity.audience,
        "Provider": provider.arn,  # AWS answers the provider ARN for OIDC providers registered in IAM
    })
    return out


# --- AssumeRoleWithSAML --------------------------------------------------------------------------


def _saml_provider(call: Call, account_id: str, principal_arn: str) -> store.Entity:
    """The SAML provider named by PrincipalArn, in the role's account, and still valid."""
    with call.gateway.db.read() as conn:
        provider = store.get_entity_by_arn(conn, account_id, principal_arn, (store.SAML_PROVIDER,))
    if provider is None:
        raise oidc.InvalidIdentityToken("Specified provider doesn't exist")
    valid_until = store.from_iso(provider.data.get("ValidUntil"))
    if valid_until is not None and call.received_at >= valid_until:
        raise oidc.InvalidIdentityToken("The SAML provider's metadata has expired")
    if provider.data.get("AssertionEncryptionMode") == "Required":  # this server cannot decrypt: fail closed
        raise oidc.InvalidIdentityToken("The SAML provider requires encrypted assertions, which Rampart cannot decrypt")
    return provider


@handler("sts", "AssumeRoleWithSAML")
def assume_role_with_saml(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Trade a signed SAML response for role credentials: signature, conditions, Role attribute, trust."""
    account_id = role_account(params["RoleArn"]) or ""
    xml = saml.decode_response(params["SAMLAssertion"])
    provider = _saml_provider(call, account_id, params["PrincipalArn"])
    metadata = saml.read_metadata(str(provider.data.get("SAMLMetadataDocument", "")))
    assertion = saml.verified_assertion(xml, metadata.certificates, call.received_at)
    claims = saml.read_assertion(assertion, metadata.entity_id, call.received_at)
    if (params["RoleArn"], params["PrincipalArn"]) not in saml.role_pairs(claims):
        raise oidc.IDPRejectedClaim(
            "The role and SAML provider pair is not in the assertion's "
            "https://aws.amazon.com/SAML/Attributes/Role attribute"
        )
    name = saml.session_name(claims)
    tags, transitive = saml.session_tags(claims)
    context = saml.condition_keys(claims, account_id, provider.name)
    session_end = saml.session_end(claims, call.received_at)
    assumption = Assumption(
        provider.arn, "sts:AssumeRoleWithSAML", name, context, tags, transitive, saml.source_identity(claims),
    )
    requested = params.get("DurationSeconds") or saml.session_duration(claims)
    granted = grant(call, params, assumption, requested)
    expires_at = call.received_at + dt.timedelta(seconds=granted.duration)
    if session_end is not None:
        expires_at = min(expires_at, session_end)
    out = issue(call, assumption, granted, expires_at)
    out.update({
        "Subject": claims.subject,
        "SubjectType": claims.subject_type,
        "Issuer": claims.issuer,
        "Audience": claims.recipient,
        "NameQualifier": context["saml:namequalifier"],
    })
    return out
