"""Tag, Untag and List...Tags for every taggable IAM entity, from one table.

IAM has eight taggable kinds and the same three operations for each; only
the member that names the entity and how it is found differ. Tags keep the
order they were added in; keys are unique without regard to case and at
most 50 (``store.merge_tags``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.certificates import require_server_certificate
from rampart.services.iam.mfa import require_device
from rampart.services.iam.policies import require_modifiable as require_customer_policy
from rampart.services.iam.policies import require_policy
from rampart.services.iam.profiles import require_profile
from rampart.services.iam.providers import require_provider
from rampart.services.iam.roles import require_role
from rampart.services.iam.users import require_user

Finder = Callable[[Call, Any, str], Any]
"""(call, connection, the member's value) -> the entity (anything with ``.tags``), or raises NoSuchEntity."""


@dataclass(frozen=True)
class Taggable:
    """One taggable kind: the operations' suffix, the member naming the entity, how to find it.

    ``find_to_change`` may refuse where reading is allowed (AWS managed
    policies can be listed but not tagged).
    """

    suffix: str
    member: str
    find: Finder
    find_to_change: Finder | None = None


def _by_name(require: Callable[[Any, str, str], Any]) -> Finder:
    return lambda call, conn, value: require(conn, call.account_id or "", value)


def _provider(kind: str) -> Finder:
    return lambda call, conn, value: require_provider(conn, call.account_id or "", kind, value)


TAGGABLES = (
    Taggable("User", "UserName", _by_name(require_user)),
    Taggable("Role", "RoleName", _by_name(require_role)),
    Taggable("InstanceProfile", "InstanceProfileName", _by_name(require_profile)),
    Taggable("Policy", "PolicyArn", _by_name(require_policy), require_customer_policy),
    Taggable("MFADevice", "SerialNumber", _by_name(require_device)),
    Taggable("OpenIDConnectProvider", "OpenIDConnectProviderArn", _provider(store.OIDC_PROVIDER)),
    Taggable("SAMLProvider", "SAMLProviderArn", _provider(store.SAML_PROVIDER)),
    Taggable("ServerCertificate", "ServerCertificateName", _by_name(require_server_certificate)),
)


def tag(call: Call, kind: Taggable, params: dict[str, Any]) -> dict[str, Any]:
    """Add tags, replacing the values of keys the entity already has."""
    with call.gateway.db.session() as session:
        entity = (kind.find_to_change or kind.find)(call, session, params[kind.member])
        store.update_entity(session, entity, tags=store.merge_tags(entity.tags, params.get("Tags") or []))
    return {}


def untag(call: Call, kind: Taggable, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the named keys; keys the entity does not have are ignored."""
    with call.gateway.db.session() as session:
        entity = (kind.find_to_change or kind.find)(call, session, params[kind.member])
        store.update_entity(session, entity, tags=store.remove_tags(entity.tags, params.get("TagKeys") or []))
    return {}


def list_tags(call: Call, kind: Taggable, params: dict[str, Any]) -> dict[str, Any]:
    """The entity's tags in the order they were added, one page at a time."""
    with call.gateway.db.read() as conn:
        entity = kind.find(call, conn, params[kind.member])
    numbered = list(enumerate(entity.tags))
    chunk, extra = store.page(numbered, params, key=lambda pair: f"{pair[0]:06d}")
    return {"Tags": [dict(t) for _, t in chunk], **extra}


def _register(kind: Taggable) -> None:
    for operation, action in (("Tag", tag), ("Untag", untag)):
        handler("iam", f"{operation}{kind.suffix}")(
            lambda call, params, action=action: action(call, kind, params)  # type: ignore[misc]
        )
    handler("iam", f"List{kind.suffix}Tags")(lambda call, params: list_tags(call, kind, params))


for _kind in TAGGABLES:
    _register(_kind)
