"""Organizations' errors, named after the model's error shapes (all JSON protocol, so codes as AWS answers)."""

from __future__ import annotations

from typing import ClassVar

from rampart.aws.errors import AwsError


class _OrgError(AwsError):
    status: ClassVar[int] = 400


def _error(name: str, doc: str) -> type[AwsError]:
    """An error class whose code is the model's shape name."""
    return type(name, (_OrgError,), {"code": name, "__doc__": doc})


NotInUse = _error("AWSOrganizationsNotInUseException", "The caller's account is not in an organization.")
OrgAccessDenied = _error("AccessDeniedException", "Only the management account may do this (or the handshake is not the caller's).")
AccountNotFound = _error("AccountNotFoundException", "No account with that id in the organization.")
AccountAlreadyClosed = _error("AccountAlreadyClosedException", "The account is already closed.")
AccountAlreadyRegistered = _error("AccountAlreadyRegisteredException",
                                  "The account is already a delegated administrator for that service.")
AccountNotRegistered = _error("AccountNotRegisteredException", "The account is not a delegated administrator.")
AlreadyInOrganization = _error("AlreadyInOrganizationException", "The account already belongs to an organization.")
ChildNotFound = _error("ChildNotFoundException", "The account or OU is not a child of that parent.")
CreateAccountStatusNotFound = _error("CreateAccountStatusNotFoundException", "No such CreateAccount request.")
DestinationParentNotFound = _error("DestinationParentNotFoundException", "MoveAccount's destination does not exist.")
SourceParentNotFound = _error("SourceParentNotFoundException", "MoveAccount's source does not exist.")
DuplicateAccount = _error("DuplicateAccountException", "The account is already in the organization.")
DuplicateHandshake = _error("DuplicateHandshakeException", "An open invitation to that account exists.")
DuplicateOU = _error("DuplicateOrganizationalUnitException", "An OU with that name exists under the parent.")
DuplicatePolicy = _error("DuplicatePolicyException", "A policy with that name exists.")
DuplicatePolicyAttachment = _error("DuplicatePolicyAttachmentException", "The policy is already attached.")
HandshakeAlreadyInState = _error("HandshakeAlreadyInStateException", "The handshake is already in that state.")
HandshakeNotFound = _error("HandshakeNotFoundException", "No such handshake.")
InvalidHandshakeTransition = _error("InvalidHandshakeTransitionException", "The handshake cannot change state that way.")
MalformedPolicyDocument = _error("MalformedPolicyDocumentException", "The policy text is not a valid SCP / RCP.")
MasterCannotLeave = _error("MasterCannotLeaveOrganizationException", "The management account cannot leave.")
OrganizationNotEmpty = _error("OrganizationNotEmptyException", "Members or OUs remain in the organization.")
OUNotEmpty = _error("OrganizationalUnitNotEmptyException", "The OU still holds accounts or OUs.")
OUNotFound = _error("OrganizationalUnitNotFoundException", "No such OU.")
ParentNotFound = _error("ParentNotFoundException", "No such root or OU.")
PolicyInUse = _error("PolicyInUseException", "The policy is still attached.")
PolicyNotAttached = _error("PolicyNotAttachedException", "The policy is not attached to that target.")
PolicyNotFound = _error("PolicyNotFoundException", "No such policy.")
PolicyTypeAlreadyEnabled = _error("PolicyTypeAlreadyEnabledException", "The policy type is already enabled.")
PolicyTypeNotEnabled = _error("PolicyTypeNotEnabledException", "The policy type is not enabled on the root.")
RootNotFound = _error("RootNotFoundException", "No such root.")
TargetNotFound = _error("TargetNotFoundException", "No such root, OU or account.")


class ConstraintViolation(_OrgError):
    """A quota or rule of Organizations is broken; ``Reason`` says which."""

    code = "ConstraintViolationException"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, fields={"Reason": reason})


class InvalidInput(_OrgError):
    """Input that passes the model but not Organizations' own rules; ``Reason`` says which."""

    code = "InvalidInputException"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, fields={"Reason": reason})


class HandshakeConstraintViolation(_OrgError):
    """An invitation that breaks a rule (the account is already in an organization ...)."""

    code = "HandshakeConstraintViolationException"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, fields={"Reason": reason})


NO_PERMISSION = "You don't have permissions to access this resource."
NOT_IN_USE = "Your account is not a member of an organization."
