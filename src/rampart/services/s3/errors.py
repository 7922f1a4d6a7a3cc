"""S3's own errors, with S3's codes, statuses and extra members (BucketName, Key, ...).

Shared by every S3 module (the data path and access control). AccessDenied
is the common one from ``rampart.aws.errors`` (403, ``AccessDenied`` in
rest-xml), re-exported here so S3 modules import errors from one place.
"""

from __future__ import annotations

from typing import Any

from rampart.aws.errors import AccessDenied, AwsError

__all__ = [
    "AccessDenied",
    "BadDigest",
    "BucketAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "EntityTooLarge",
    "EntityTooSmall",
    "IllegalLocationConstraintException",
    "InvalidArgument",
    "InvalidBucketName",
    "InvalidDigest",
    "InvalidPart",
    "InvalidPartOrder",
    "InvalidRange",
    "InvalidRequest",
    "InvalidTag",
    "MalformedXML",
    "MethodNotAllowed",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchTagSet",
    "NoSuchUpload",
    "NoSuchVersion",
    "NotModified",
    "PreconditionFailed",
    "invalid_argument",
]


class NoSuchBucket(AwsError):
    """The bucket does not exist."""

    code = "NoSuchBucket"
    status = 404

    def __init__(self, bucket: str) -> None:
        super().__init__("The specified bucket does not exist", fields={"BucketName": bucket})


class NoSuchKey(AwsError):
    """No current version of the key (or a delete marker is current)."""

    code = "NoSuchKey"
    status = 404

    def __init__(self, key: str) -> None:
        super().__init__("The specified key does not exist.", fields={"Key": key})


class NoSuchVersion(AwsError):
    """The version id names no version of the key."""

    code = "NoSuchVersion"
    status = 404

    def __init__(self, key: str, version_id: str) -> None:
        super().__init__(
            "The specified version does not exist.", fields={"Key": key, "VersionId": version_id}
        )


class NoSuchUpload(AwsError):
    """The multipart upload does not exist (aborted, completed, or never created)."""

    code = "NoSuchUpload"
    status = 404

    def __init__(self, upload_id: str) -> None:
        super().__init__(
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have "
            "been aborted or completed.",
            fields={"UploadId": upload_id},
        )


class NoSuchTagSet(AwsError):
    """The bucket has no tag set."""

    code = "NoSuchTagSet"
    status = 404


class BucketAlreadyExists(AwsError):
    """Another account owns a bucket of this name (names are global)."""

    code = "BucketAlreadyExists"
    status = 409

    def __init__(self, bucket: str) -> None:
        super().__init__(
            "The requested bucket name is not available. The bucket namespace is shared by all users of "
            "the system. Please select a different name and try again.",
            fields={"BucketName": bucket},
        )


class BucketAlreadyOwnedByYou(AwsError):
    """The caller's account already owns the bucket (outside us-east-1, or in another region)."""

    code = "BucketAlreadyOwnedByYou"
    status = 409

    def __init__(self, bucket: str) -> None:
        super().__init__(
            "Your previous request to create the named bucket succeeded and you already own it.",
            fields={"BucketName": bucket},
        )


class BucketNotEmpty(AwsError):
    """The bucket still holds objects, versions or delete markers."""

    code = "BucketNotEmpty"
    status = 409

    def __init__(self, bucket: str) -> None:
        super().__init__("The bucket you tried to delete is not empty", fields={"BucketName": bucket})


class InvalidBucketName(AwsError):
    """The name breaks S3's bucket naming rules."""

    code = "InvalidBucketName"
    status = 400

    def __init__(self, bucket: str) -> None:
        super().__init__("The specified bucket is not valid.", fields={"BucketName": bucket})


class IllegalLocationConstraintException(AwsError):
    """The LocationConstraint does not fit the endpoint's region."""

    code = "IllegalLocationConstraintException"
    status = 400


class InvalidArgument(AwsError):
    """A request value is not acceptable."""

    code = "InvalidArgument"
    status = 400


def invalid_argument(message: str, name: str, value: Any) -> InvalidArgument:
    """InvalidArgument naming the argument, as S3 does."""
    return InvalidArgument(message, fields={"ArgumentName": name, "ArgumentValue": str(value)})


class InvalidRequest(AwsError):
    """The request is inconsistent (S3's generic 400)."""

    code = "InvalidRequest"
    status = 400


class MalformedXML(AwsError):
    """The XML body does not match the schema."""

    code = "MalformedXML"
    status = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "The XML you provided was not well-formed or did not validate against our published schema"
        )


class InvalidTag(AwsError):
    """A tag key or value breaks the tagging rules."""

    code = "InvalidTag"
    status = 400


class BadDigest(AwsError):
    """Content-MD5 or an x-amz-checksum-* value does not match the received bytes."""

    code = "BadDigest"
    status = 400


class InvalidDigest(AwsError):
    """Content-MD5 is not a base64 MD5."""

    code = "InvalidDigest"
    status = 400

    def __init__(self, given: str) -> None:
        super().__init__("The Content-MD5 you specified is not valid.", fields={"Content-MD5": given})


class InvalidRange(AwsError):
    """The Range starts past the end of the object."""

    code = "InvalidRange"
    status = 416

    def __init__(self, range_text: str, size: int) -> None:
        super().__init__(
            "The requested range is not satisfiable",
            fields={"RangeRequested": range_text, "ActualObjectSize": size},
        )


class PreconditionFailed(AwsError):
    """If-Match / If-Unmodified-Since (or their copy-source forms) failed."""

    code = "PreconditionFailed"
    status = 412

    def __init__(self, condition: str) -> None:
        super().__init__("At least one of the pre-conditions you specified did not hold", fields={"Condition": condition})


class NotModified(AwsError):
    """If-None-Match / If-Modified-Since: the client's copy is current (304, no body)."""

    code = "NotModified"
    status = 304

    def __init__(self) -> None:
        super().__init__("Not Modified")


class MethodNotAllowed(AwsError):
    """The method is not allowed on this resource (a delete marker read by version id)."""

    code = "MethodNotAllowed"
    status = 405


class EntityTooSmall(AwsError):
    """A part other than the last is smaller than 5 MiB."""

    code = "EntityTooSmall"
    status = 400


class EntityTooLarge(AwsError):
    """The upload exceeds S3's size limit."""

    code = "EntityTooLarge"
    status = 400


class InvalidPart(AwsError):
    """A listed part was not uploaded, or its ETag does not match."""

    code = "InvalidPart"
    status = 400


class InvalidPartOrder(AwsError):
    """The part list is not in ascending order."""

    code = "InvalidPartOrder"
    status = 400

    def __init__(self) -> None:
        super().__init__("The list of parts was not in ascending order. Parts must be ordered by part number.")


class MetadataTooLarge(AwsError):
    """User-defined metadata (x-amz-meta-*) over 2 KB."""

    code = "MetadataTooLarge"
    status = 400
