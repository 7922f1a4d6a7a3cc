"""IAM's own errors, named after the model's error shapes (codes and statuses as AWS answers)."""

from __future__ import annotations

from rampart.aws.errors import AwsError


class NoSuchEntity(AwsError):
    """The named user, group, role, policy, ... does not exist."""

    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(AwsError):
    """An entity with this name already exists in the account."""

    code = "EntityAlreadyExists"
    status = 409


class DeleteConflict(AwsError):
    """The entity still has subordinate entities (keys, policies, members, ...)."""

    code = "DeleteConflict"
    status = 409


class LimitExceeded(AwsError):
    """A quota would be exceeded (two access keys per user, five policy versions, ...)."""

    code = "LimitExceeded"
    status = 409


class MalformedPolicyDocumentError(AwsError):
    """The policy document is not valid IAM policy language; the message is the engine's."""

    code = "MalformedPolicyDocument"
    status = 400


class InvalidInput(AwsError):
    """A parameter value IAM refuses beyond the model's own constraints."""

    code = "InvalidInput"
    status = 400


class PasswordPolicyViolation(AwsError):
    """The password does not satisfy the account password policy."""

    code = "PasswordPolicyViolation"
    status = 400


class InvalidAuthenticationCode(AwsError):
    """An MFA code that is not valid for the device."""

    code = "InvalidAuthenticationCode"
    status = 403


class UnmodifiableEntity(AwsError):
    """The entity belongs to AWS (service-linked roles, AWS managed policies)."""

    code = "UnmodifiableEntity"
    status = 400


class PolicyNotAttachable(AwsError):
    """The policy cannot be attached (a service-role policy to a user, ...)."""

    code = "PolicyNotAttachable"
    status = 400


class EntityTemporarilyUnmodifiable(AwsError):
    """The entity cannot be changed right now (a login profile just created, ...)."""

    code = "EntityTemporarilyUnmodifiable"
    status = 409


class ReportNotPresent(AwsError):
    """GetCredentialReport before GenerateCredentialReport."""

    code = "ReportNotPresent"
    status = 410


class ReportExpired(AwsError):
    """The credential report is older than four hours."""

    code = "ReportExpired"
    status = 410


class InvalidUserType(AwsError):
    """The caller is the wrong kind of user (the root user calling ChangePassword)."""

    code = "InvalidUserType"
    status = 400


class MalformedCertificate(AwsError):
    """A certificate, chain or private key that does not parse, or a certificate already expired."""

    code = "MalformedCertificate"
    status = 400


class KeyPairMismatch(AwsError):
    """The private key is not the one the certificate's public key belongs to."""

    code = "KeyPairMismatch"
    status = 400


class DuplicateCertificate(AwsError):
    """The same signing certificate is already uploaded for a user of the account."""

    code = "DuplicateCertificate"
    status = 409


class InvalidPublicKey(AwsError):
    """An SSH public key that is malformed, not RSA, or too short."""

    code = "InvalidPublicKey"
    status = 400


class DuplicateSSHPublicKey(AwsError):
    """The same SSH public key is already uploaded for this user."""

    code = "DuplicateSSHPublicKey"
    status = 400


class UnrecognizedPublicKeyEncoding(AwsError):
    """An SSH public key in neither OpenSSH nor PEM encoding."""

    code = "UnrecognizedPublicKeyEncoding"
    status = 400


class ServiceNotSupported(AwsError):
    """Service-specific credentials for a service that has none (the model's code: NotSupportedService)."""

    code = "NotSupportedService"
    status = 404
