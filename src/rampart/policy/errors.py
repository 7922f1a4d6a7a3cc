"""The one error the policy package raises.

IAM answers every malformed document with the MalformedPolicyDocument error code
and a short human message; the IAM service maps this exception onto that error
shape, so the message text here is exactly what AWS would put on the wire.
"""

from __future__ import annotations


class MalformedPolicyDocument(Exception):
    """A policy document IAM would refuse; ``message`` is IAM's own wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# IAM's wordings, collected from real AWS responses (quoted in public bug reports).
SYNTAX = "Syntax errors in policy."
NO_PRINCIPAL_ALLOWED = "Policy document should not specify a principal."
NEED_RESOURCES = "Policy statement must contain resources."
NEED_ACTIONS = "Policy statement must contain actions."
NEED_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
MISSING_EFFECT = "Missing required field Effect"
MISSING_PRINCIPAL = "Missing required field Principal"
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
SID_ALNUM = (
    "Statement IDs (SID) must be alpha-numeric. "
    "Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
ORG_TYPE = "The provided policy document does not meet the requirements of the specified policy type."


def prohibited(field: str) -> str:
    """IAM's message for an element a policy type does not allow (trust policies)."""
    return f"Has prohibited field {field}"


def bad_resource(resource: str) -> str:
    """IAM's message for a Resource that is neither an ARN nor "*"."""
    return f'Resource {resource} must be in ARN format or "*".'


def bad_partition(partition: str, resource: str) -> str:
    """IAM's message for an ARN whose partition does not exist."""
    return f'Partition "{partition}" is not valid for resource "{resource}".'


def bad_principal(kind: str, value: str) -> str:
    """IAM's message for a principal it cannot resolve."""
    return f'Invalid principal in policy: "{kind}":"{value}"'


def bad_condition_operator(operator: str) -> str:
    """IAM's message for a condition operator it does not know."""
    return f"Invalid Condition type : {operator}."
