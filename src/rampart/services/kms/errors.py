"""KMS's own errors, named after the model's error shapes (all HTTP 400 on the JSON protocol, as KMS answers)."""

from __future__ import annotations

from rampart.aws.errors import AwsError


class NotFoundException(AwsError):
    """The key, alias or grant named does not exist (or is not visible to the caller)."""

    code = "NotFoundException"
    status = 400


class AlreadyExistsException(AwsError):
    """An alias (or other unique name) is already taken."""

    code = "AlreadyExistsException"
    status = 400


class DisabledException(AwsError):
    """The key is disabled; cryptographic operations are refused until it is enabled."""

    code = "DisabledException"
    status = 400


class KMSInvalidStateException(AwsError):
    """The key's state does not allow the operation (pending deletion, wrong state to cancel)."""

    code = "KMSInvalidStateException"
    status = 400


class InvalidCiphertextException(AwsError):
    """The blob is not a ciphertext of this key, or was made with a different encryption context."""

    code = "InvalidCiphertextException"
    status = 400


class IncorrectKeyException(AwsError):
    """The KeyId given with a ciphertext is not the key that made it."""

    code = "IncorrectKeyException"
    status = 400


class InvalidKeyUsageException(AwsError):
    """The key's usage or spec does not allow the operation or algorithm asked for."""

    code = "InvalidKeyUsageException"
    status = 400


class KMSInvalidSignatureException(AwsError):
    """Verify: the signature does not match the message and key."""

    code = "KMSInvalidSignatureException"
    status = 400


class KMSInvalidMacException(AwsError):
    """VerifyMac: the MAC does not match the message and key."""

    code = "KMSInvalidMacException"
    status = 400


class MalformedPolicyDocumentException(AwsError):
    """A key policy that is not valid, or that would lock the caller out."""

    code = "MalformedPolicyDocumentException"
    status = 400


class InvalidAliasNameException(AwsError):
    """An alias name outside AWS's rules (alias/ prefix, reserved alias/aws/)."""

    code = "InvalidAliasNameException"
    status = 400


class InvalidArnException(AwsError):
    """A malformed ARN."""

    code = "InvalidArnException"
    status = 400


class InvalidGrantTokenException(AwsError):
    """A grant token that names no grant."""

    code = "InvalidGrantTokenException"
    status = 400


class InvalidGrantIdException(AwsError):
    """A grant id that names no grant of the key."""

    code = "InvalidGrantIdException"
    status = 400


class UnsupportedOperationException(AwsError):
    """The operation does not apply to this kind of key (rotation of an asymmetric key, ...)."""

    code = "UnsupportedOperationException"
    status = 400


class LimitExceededException(AwsError):
    """A per-key quota would be exceeded (on-demand rotations)."""

    code = "LimitExceededException"
    status = 400


class TagException(AwsError):
    """Tags outside AWS's rules (reserved aws: prefix)."""

    code = "TagException"
    status = 400


class InvalidMarkerException(AwsError):
    """A pagination marker this server did not hand out."""

    code = "InvalidMarkerException"
    status = 400


class DryRunOperationException(AwsError):
    """DryRun was set: the caller is authorized and the request is valid, but nothing was done.

    AWS answers HTTP 412 so that SDKs never mistake it for a success.
    """

    code = "DryRunOperationException"
    status = 412
