"""Where ``validate`` reads digests, log files and public keys from.

``StoreSource`` reads Rampart's own S3 store and signing keys from a data
directory or database URL, with no server running: it runs the real S3
handlers (authorization included) as the bucket owner's root, so objects
encrypted with SSE-S3 or SSE-KMS open exactly as they would for a GetObject.
``Boto3Source`` / ``Boto3Keys`` read through clients, against Rampart or AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rampart.accounts import PrincipalRef
from rampart.aws.errors import AwsError
from rampart.aws.models import service_model, wire_protocols
from rampart.gateway import registry
from rampart.gateway.authorize import authorize
from rampart.gateway.call import Call
from rampart.services.cloudtrail import signing
from rampart.services.s3.store import get_bucket

MISSING = ("NoSuchKey", "NoSuchBucket")


class StoreSource:
    """Objects read from Rampart's store as ``account_id``'s root user."""

    def __init__(self, gateway: Any, account_id: str, region: str) -> None:
        self._gateway, self._account_id, self._region = gateway, account_id, region

    @classmethod
    def of_bucket(cls, gateway: Any, bucket: str, account_id: str, region: str) -> StoreSource:
        """A source reading as ``bucket``'s owner in its region (``account_id`` and ``region`` if it is gone).

        Not as the account whose digests are checked: an organization trail's member
        account owns none of the management account's bucket its digests lie in.
        """
        with gateway.db.read() as conn:
            found = get_bucket(conn, bucket)
        return cls(gateway, found.account_id, found.region) if found is not None else cls(gateway, account_id, region)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        gateway, account = self._gateway, self._account_id
        call = Call(gateway, gateway.clock.now())
        call.service, call.operation, call.region = "s3", operation, self._region
        call.protocol = wire_protocols(service_model("s3"))[0]
        call.caller.account_id = account
        call.caller.principal = PrincipalRef(account, "root", None, f"arn:aws:iam::{account}:root", account)
        call.caller.user_agent = "rampart-trail-validate"
        call.caller.secure = True
        call.params = params
        authorize(call, params)
        function = registry.lookup("s3", operation)
        assert function is not None
        return function(call, params) or {}

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]] | None:
        """The object's bytes and metadata; None when it (or its bucket) is gone."""
        try:
            out = self._call("GetObject", {"Bucket": bucket, "Key": key})
        except AwsError as error:
            if error.code in MISSING:
                return None
            raise
        body = out["Body"]
        try:
            data = b"".join(body.chunks())
        finally:
            body.close()
        return data, dict(out.get("Metadata") or {})

    def list(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, page by page."""
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            try:
                out = self._call("ListObjectsV2", dict(params))
            except AwsError as error:
                if error.code in MISSING:
                    return
                raise
            yield from (item["Key"] for item in out.get("Contents") or [])
            token = out.get("NextContinuationToken")
            if not out.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token


class StoreKeys:
    """Public keys straight from the signing key table."""

    def __init__(self, db: Any) -> None:
        self._db = db

    def public_key(self, fingerprint: str, region: str) -> signing.PublicKey | None:
        """The key with this fingerprint, when it is one of ``region``'s."""
        with self._db.read() as conn:
            found = signing.public_key(conn, fingerprint)
        return found if found is not None and found.region == region else None


class Boto3Source:
    """Objects read through an S3 client."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]] | None:
        """The object's bytes and metadata, or None on NoSuchKey."""
        try:
            out = self._s3.get_object(Bucket=bucket, Key=key)
        except self._s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in MISSING:
                return None
            raise
        return out["Body"].read(), dict(out.get("Metadata") or {})

    def list(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``."""
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from (item["Key"] for item in page.get("Contents") or [])


class Boto3Keys:
    """Public keys from ListPublicKeys over a range, through a CloudTrail client of the digests' region."""

    def __init__(self, cloudtrail: Any, start: Any, end: Any) -> None:
        listed = cloudtrail.list_public_keys(StartTime=start, EndTime=end)["PublicKeyList"]
        self._keys = {item["Fingerprint"]: item for item in listed}

    def public_key(self, fingerprint: str, region: str) -> signing.PublicKey | None:
        """The listed key with this fingerprint."""
        item = self._keys.get(fingerprint)
        if item is None:
            return None
        return signing.PublicKey(fingerprint, region, bytes(item["Value"]),
                                 item["ValidityStartTime"], item["ValidityEndTime"])
