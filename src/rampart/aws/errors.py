"""Errors answered to clients, named after the models' error shapes.

A handler raises ``AwsError`` (or a subclass); the protocol layer turns it into
the status code and body of the service's protocol. Errors whose code depends
on the protocol (AccessDenied vs AccessDeniedException, ValidationError vs
ValidationException, SignatureDoesNotMatch vs InvalidSignatureException) are
defined once here and resolved by ``code_for``; the few whose HTTP status also
depends on the protocol (authentication failures: 403, but 400 from the JSON
protocol's services) are resolved by ``status_for``.
"""

from __future__ import annotations

from typing import Any, ClassVar

# Protocol families: which spelling of a common error code each uses.
_QUERY_STYLE = frozenset({"query", "rest-xml", "ec2"})


class AwsError(Exception):
    """An error in AWS's shape: a code, a message, an HTTP status.

    ``fields`` carries extra members of the model's error shape (for example
    S3's ``BucketName``) that the codec serializes beside Code and Message.
    """

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        if status is not None:
            self.status = status  # type: ignore[misc]
        self.fields: dict[str, Any] = fields or {}

    def code_for(self, protocol: str) -> str:
        """The error code as the given wire protocol spells it."""
        return self.code

    def status_for(self, protocol: str) -> int:
        """The HTTP status as the given wire protocol answers it (``status`` unless a subclass differs)."""
        return self.status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class _ProtocolSpelledError(AwsError):
    """An error whose code differs between query-style and JSON-style protocols.

    ``json_status``, when set, is the status the JSON protocol's services answer
    instead of ``status`` (which stays the query-style value).
    """

    query_code: ClassVar[str]
    json_code: ClassVar[str]
    ec2_code: ClassVar[str | None] = None
    json_status: ClassVar[int | None] = None

    def code_for(self, protocol: str) -> str:
        if "code" in self.__dict__:  # explicitly overridden at construction
            return self.code
        if protocol == "ec2" and self.ec2_code:
            return self.ec2_code
        return self.query_code if protocol in _QUERY_STYLE else self.json_code

    def status_for(self, protocol: str) -> int:
        if "status" in self.__dict__ or protocol != "json" or self.json_status is None:
            return self.status
        return self.json_status


class AccessDenied(_ProtocolSpelledError):
    """Authorization failed (AccessDenied / AccessDeniedException).

    403 for query, REST and EC2 services; the JSON-protocol services' common
    errors list AccessDeniedException with HTTP 400.
    """

    code = "AccessDenied"
    query_code = "AccessDenied"
    json_code = "AccessDeniedException"
    ec2_code = "UnauthorizedOperation"
    status = 403
    json_status = 400


class ValidationError(_ProtocolSpelledError):
    """Input failed the model's constraints (ValidationError / ValidationException)."""

    code = "ValidationError"
    query_code = "ValidationError"
    json_code = "ValidationException"
    ec2_code = "InvalidParameterValue"
    status = 400


class SerializationError(_ProtocolSpelledError):
    """The body could not be decoded (broken XML/JSON/CBOR, wrong types)."""

    code = "SerializationException"
    query_code = "MalformedInput"
    json_code = "SerializationException"
    status = 400


class NotImplementedOperation(AwsError):
    """The operation exists in the model but Rampart does not implement it."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


class UnknownOperation(AwsError):
    """The request names no operation of the service."""

    code = "UnknownOperationException"
    status = 400


class InternalFailure(AwsError):
    """A bug in Rampart; answered without a stack trace."""

    code = "InternalFailure"
    status = 500
    sender_fault = False


# --- authentication (SigV4) ---
# Non-S3 services spell these with the query codes (query, rest-xml, ec2) or the
# JSON ones (json, rest-json, smithy-rpc-v2-cbor). The JSON protocol's services
# (DynamoDB, Kinesis, Logs, ECS, Cognito ...) answer them with status 400;
# rest-json services (Lambda, Glacier) keep 403.


class InvalidClientTokenId(_ProtocolSpelledError):
    """The access key id is unknown, or a session token is wrong or missing (non-S3 spelling)."""

    code = "InvalidClientTokenId"
    query_code = "InvalidClientTokenId"
    json_code = "UnrecognizedClientException"
    status = 403
    json_status = 400


class InvalidAccessKeyId(AwsError):
    """The access key id is unknown (S3 spelling)."""

    code = "InvalidAccessKeyId"
    status = 403


class SignatureDoesNotMatch(_ProtocolSpelledError):
    """The signature computed does not match the one given (or the scope is wrongly terminated)."""

    code = "SignatureDoesNotMatch"
    query_code = "SignatureDoesNotMatch"
    json_code = "InvalidSignatureException"
    status = 403
    json_status = 400


class IncompleteSignature(_ProtocolSpelledError):
    """The Authorization header or presigned query is malformed."""

    code = "IncompleteSignature"
    query_code = "IncompleteSignature"
    json_code = "IncompleteSignatureException"
    status = 403
    json_status = 400


class MissingAuthenticationToken(_ProtocolSpelledError):
    """No credentials at all on a service that requires them."""

    code = "MissingAuthenticationToken"
    query_code = "MissingAuthenticationToken"
    json_code = "MissingAuthenticationTokenException"
    status = 403
    json_status = 400


class RequestExpired(_ProtocolSpelledError):
    """Signature date outside the skew window, or presigned URL expired (non-S3).

    AWS answers it as a signature failure ("Signature expired: ...") with
    SignatureDoesNotMatch (query) or InvalidSignatureException (JSON); only
    EC2 uses the RequestExpired code itself.
    """

    code = "RequestExpired"
    query_code = "SignatureDoesNotMatch"
    json_code = "InvalidSignatureException"
    ec2_code = "RequestExpired"
    status = 403
    json_status = 400


class RequestTimeTooSkewed(AwsError):
    """Signature date outside the skew window (S3 spelling)."""

    code = "RequestTimeTooSkewed"
    status = 403


class ExpiredToken(AwsError):
    """A session token past its expiry.

    ``key`` is the signing-key record whose session expired, when the
    signature and the token were verified first: CloudTrail records the
    refused call in its holder's account.
    """

    code = "ExpiredToken"
    status = 403
    key: Any = None
