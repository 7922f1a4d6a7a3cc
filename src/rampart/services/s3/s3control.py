"""S3 Control's account-level Block Public Access (PutPublicAccessBlock and friends).

The account's four flags are one document per account (``store.put_account_config``
under ``public.PAB_KIND``, the kind ``public.block_settings`` ORs into every
bucket's own flags), so setting them here immediately changes what every
bucket of the account lets the public do: a public policy is refused
(BlockPublicPolicy), its public statements stop granting (RestrictPublicBuckets),
public ACL grants stop counting (IgnorePublicAcls), whether or not the bucket
has settings of its own.

S3 Control names the account in the ``x-amz-account-id`` header; AWS answers
AccessDenied when it is not the caller's own account (an account's settings
are only ever its own business; no policy can grant another account).
"""

from __future__ import annotations

from typing import Any

from rampart.aws.errors import AccessDenied, AwsError
from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.s3.public import FLAGS, PAB_KIND, normalized
from rampart.services.s3.store import (
    delete_account_config,
    get_account_config,
    put_account_config,
)


class NoSuchPublicAccessBlockConfiguration(AwsError):
    """GetPublicAccessBlock for an account that has no settings."""

    code = "NoSuchPublicAccessBlockConfiguration"
    status = 404


def _own_account(call: Call, params: dict[str, Any]) -> str:
    """The AccountId of the request, which must be the caller's (AccessDenied otherwise)."""
    account = str(params.get("AccountId") or "")
    if call.account_id is None or account != call.account_id:
        raise AccessDenied("Access Denied")
    return account


@handler("s3control", "PutPublicAccessBlock")
def put_account_public_access_block(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Replace the account's four flags (a flag left out is false, as in AWS)."""
    account = _own_account(call, params)
    config = params.get("PublicAccessBlockConfiguration") or {}
    with call.gateway.db.session() as session:
        put_account_config(session, account, PAB_KIND, normalized(config))
    return {}


@handler("s3control", "GetPublicAccessBlock")
def get_account_public_access_block(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The account's flags; NoSuchPublicAccessBlockConfiguration when never set (or deleted)."""
    account = _own_account(call, params)
    with call.gateway.db.read() as conn:
        found = get_account_config(conn, account, PAB_KIND)
    if found is None:
        raise NoSuchPublicAccessBlockConfiguration(
            "The public access block configuration was not found", fields={"AccountId": account}
        )
    return {"PublicAccessBlockConfiguration": {flag: bool(found.get(flag)) for flag in FLAGS}}


@handler("s3control", "DeletePublicAccessBlock")
def delete_account_public_access_block(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the account's flags (each bucket's own still apply); idempotent, as in AWS."""
    account = _own_account(call, params)
    with call.gateway.db.session() as session:
        delete_account_config(session, account, PAB_KIND)
    return {}
