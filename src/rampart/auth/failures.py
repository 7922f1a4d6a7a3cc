"""Why SigV4 authentication failed, in AWS's own codes and messages.

The verifier (``sigv4``) decides *that* a request fails; this module decides
*what the client is told*. S3 and the other services word every failure
differently (S3: AuthorizationHeaderMalformed, AccessDenied with extra fields;
the others: IncompleteSignature, SignatureDoesNotMatch ...), and SDKs key their
retries and credential refreshes on those exact codes. The JSON protocols'
spellings of the non-S3 codes (InvalidSignatureException, ...) are resolved
later by the error classes in ``rampart.aws.errors``.
"""

from __future__ import annotations

import datetime as dt

from rampart.auth import chunked
from rampart.aws.errors import (
    AccessDenied,
    AwsError,
    IncompleteSignature,
    InvalidAccessKeyId,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    RequestExpired,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)

__all__ = ["MAX_SKEW", "Failures"]

# How far a signature's date may be from the server's clock; AWS's messages quote it.
MAX_SKEW = dt.timedelta(minutes=15)
_ISO_BASIC = "%Y%m%dT%H%M%SZ"

_SIG_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_TOKEN_MESSAGE = "The security token included in the request is invalid."
_S3_CREDENTIAL = 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
_S3_NO_DATE = "AWS authentication requires a valid Date or x-amz-date header"
_S3_QUERY_REQUIRED = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)


def _s3(code: str, message: str, status: int = 400, **fields: str) -> AwsError:
    return AwsError(message, code=code, status=status, fields=fields)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime(_ISO_BASIC)


def _spaced_hex(text: str) -> str:
    return " ".join(f"{b:02x}" for b in text.encode("utf-8", "surrogateescape"))


class Failures:
    """Builds the error for each way authentication fails, in the caller's style."""

    __slots__ = ("presigned", "s3_style")

    def __init__(self, s3_style: bool) -> None:
        self.s3_style = s3_style
        self.presigned = False

    def _s3_malformed(self, detail: str) -> AwsError:
        if self.presigned:
            return _s3("AuthorizationQueryParametersError", detail[0].upper() + detail[1:])
        return _s3("AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}")

    def missing_authentication(self) -> AwsError:
        """No signature at all where the service requires one."""
        if self.s3_style:
            return AccessDenied("Access Denied")
        return MissingAuthenticationToken("Request is missing Authentication Token")

    def two_mechanisms(self) -> AwsError:
        """Both an Authorization header and a presigned query (S3 refuses to choose)."""
        return _s3(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
            "string parameter or the Authorization header should be specified",
            ArgumentName="Authorization",
        )

    def missing_equal_sign(self, part: str, header: str) -> AwsError:
        """An Authorization component that is not key=value."""
        if self.s3_style:
            return self._s3_malformed(f'the authorization component "{part}" is malformed.')
        return IncompleteSignature(
            f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
        )

    def header_incomplete(self, missing: list[str], no_date: bool, header: str) -> AwsError:
        """Credential, Signature or SignedHeaders missing, or no date header."""
        if self.s3_style:
            if missing:
                return self._s3_malformed(
                    "the authorization header requires three components: Credential, SignedHeaders, and Signature."
                )
            return AccessDenied(_S3_NO_DATE)
        text = "".join(f"Authorization header requires '{p}' parameter. " for p in missing)
        if no_date:
            text += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        return IncompleteSignature(f"{text}Authorization={header}")

    def query_incomplete(self, missing: list[str]) -> AwsError:
        """A presigned URL lacking one of the X-Amz-* parameters."""
        if self.s3_style:
            return _s3("AuthorizationQueryParametersError", _S3_QUERY_REQUIRED)
        text = "".join(f"AWS query-string parameters must include '{p}'. " for p in missing)
        return IncompleteSignature(f"{text}Re-examine the query-string parameters.")

    def unsupported_algorithm(self, algorithm: str, header: str | None) -> AwsError:
        """Any algorithm but AWS4-HMAC-SHA256 (SigV2, SigV4a, Basic ...)."""
        if self.s3_style and self.presigned:
            return _s3("AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
        if self.s3_style:
            return _s3(
                "InvalidArgument", "Unsupported Authorization Type",
                ArgumentName="Authorization", ArgumentValue=header or "",
            )
        return IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). ")

    def bad_expires(self, message: str) -> AwsError:
        """X-Amz-Expires not a number, negative, or over a week."""
        if self.s3_style:
            return _s3("AuthorizationQueryParametersError", message)
        return IncompleteSignature(message)

    def bad_credential(self, credential: str) -> AwsError:
        """A credential scope without its five slash-separated parts."""
        if self.s3_style:
            prefix = "error parsing the X-Amz-Credential parameter; " if self.presigned else ""
            return self._s3_malformed(prefix + _S3_CREDENTIAL)
        return IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )

    def bad_terminator(self, terminator: str, credential: str) -> AwsError:
        """A credential scope not ending in aws4_request."""
        if self.s3_style:
            return self.bad_credential(credential)
        return SignatureDoesNotMatch(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")

    def bad_date(self, amz_date: str) -> AwsError:
        """A signing date not in ISO 8601 basic format."""
        if self.s3_style and self.presigned:
            return _s3(
                "AuthorizationQueryParametersError",
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        if self.s3_style:
            return AccessDenied(_S3_NO_DATE)
        return IncompleteSignature(
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )

    def scope_date_mismatch(self, date: str, amz_date: str) -> AwsError:
        """The scope's date differs from the signing date's day."""
        if self.s3_style and self.presigned:
            return _s3(
                "AuthorizationQueryParametersError",
                f'Invalid credential date "{date}". This date is not the same as X-Amz-Date: "{amz_date[:8]}".',
            )
        if self.s3_style:
            return self._s3_malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
        return SignatureDoesNotMatch(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{date}' != '{amz_date[:8]}', from '{amz_date}'."
        )

    def _skewed(self, amz_date: str, now: dt.datetime) -> AwsError:
        return RequestTimeTooSkewed(
            "The difference between the request time and the current time is too large.",
            fields={
                "RequestTime": amz_date,
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "MaxAllowedSkewMilliseconds": str(int(MAX_SKEW.total_seconds() * 1000)),
            },
        )

    def not_yet_valid(self, amz_date: str, now: dt.datetime) -> AwsError:
        """A signing date more than the skew window in the future."""
        if self.s3_style and self.presigned:
            return AccessDenied("Request is not valid yet")
        if self.s3_style:
            return self._skewed(amz_date, now)
        return RequestExpired(
            f"Signature not yet current: {amz_date} is still later than {_iso(now + MAX_SKEW)} "
            f"({_iso(now)} + 15 min.)"
        )

    def expired(self, amz_date: str, now: dt.datetime, window: dt.timedelta = MAX_SKEW) -> AwsError:
        """A signing date more than ``window`` in the past."""
        if self.s3_style:
            return self._skewed(amz_date, now)
        minutes, seconds = divmod(int(window.total_seconds()), 60)
        span = f"{minutes} min." if not seconds else f"{int(window.total_seconds())} sec."
        return RequestExpired(
            f"Signature expired: {amz_date} is now earlier than {_iso(now - window)} ({_iso(now)} - {span})"
        )

    def presign_expired(self, amz_date: str, expires: int, signed_at: dt.datetime, now: dt.datetime,
                        window: dt.timedelta) -> AwsError:
        """A presigned URL used after X-Amz-Expires."""
        if not self.s3_style:
            return self.expired(amz_date, now, window)
        return AccessDenied(
            "Request has expired",
            fields={
                "X-Amz-Expires": str(expires),
                "Expires": (signed_at + window).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )

    def host_not_signed(self) -> AwsError:
        """The Host header left out of SignedHeaders."""
        if self.s3_style:
            return self.headers_not_signed(["host"])
        return SignatureDoesNotMatch("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")

    def headers_not_signed(self, names: list[str]) -> AwsError:
        """x-amz-* headers present but unsigned (S3 requires them signed)."""
        return AccessDenied(
            "There were headers present in the request which were not signed",
            fields={"HeadersNotSigned": ", ".join(names)},
        )

    def unknown_key(self, access_key_id: str) -> AwsError:
        """An access key id the credential store does not know."""
        if self.s3_style:
            return InvalidAccessKeyId(
                "The AWS Access Key Id you provided does not exist in our records.",
                fields={"AWSAccessKeyId": access_key_id},
            )
        return InvalidClientTokenId(_TOKEN_MESSAGE)

    def bad_token(self) -> AwsError:
        """A session token that is wrong, missing for temporary keys, or present for long-term ones."""
        if self.s3_style:
            return _s3("InvalidToken", "The provided token is malformed or otherwise invalid.")
        return InvalidClientTokenId(_TOKEN_MESSAGE)

    def signature_mismatch(self, access_key_id: str, signature: str, canonical: str, to_sign: str) -> AwsError:
        """The signature differs; the message shows what Rampart signed, as AWS does."""
        if not self.s3_style:
            return SignatureDoesNotMatch(
                f"{_SIG_MESSAGE}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                f"The String-to-Sign should have been\n'{to_sign}'\n"
            )
        return SignatureDoesNotMatch(
            chunked.S3_SIGNATURE_MESSAGE,
            fields={
                "AWSAccessKeyId": access_key_id,
                "StringToSign": to_sign,
                "SignatureProvided": signature,
                "StringToSignBytes": _spaced_hex(to_sign),
                "CanonicalRequest": canonical,
                "CanonicalRequestBytes": _spaced_hex(canonical),
            },
        )

    def payload_mismatch(self) -> AwsError:
        """A body that does not match a signed payload hash (non-S3 spelling)."""
        return SignatureDoesNotMatch(_SIG_MESSAGE)

    def missing_content_sha256(self) -> AwsError:
        """S3 without x-amz-content-sha256."""
        return _s3("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")

    def invalid_content_sha256(self, value: str) -> AwsError:
        """An x-amz-content-sha256 that is neither a hash nor a known mode."""
        if not self.s3_style:
            return self.payload_mismatch()
        return _s3(
            "InvalidArgument",
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            ArgumentName="x-amz-content-sha256",
            ArgumentValue=value,
        )

    def content_sha256_mismatch(self, declared: str, actual: str) -> AwsError:
        """A body whose hash differs from the signed x-amz-content-sha256."""
        if not self.s3_style:
            return self.payload_mismatch()
        return _s3(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ClientComputedContentSHA256=declared,
            S3ComputedContentSHA256=actual,
        )

    def missing_decoded_length(self) -> AwsError:
        """S3 aws-chunked upload without x-amz-decoded-content-length."""
        return _s3("MissingContentLength", "You must provide the Content-Length HTTP header.", status=411)
