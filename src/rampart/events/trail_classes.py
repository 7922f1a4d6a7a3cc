"""Which calls CloudTrail calls read-only, which are data events, and where global services log.

Tables, not heuristics in the builder: trails select events by these
classes (management read/write, data events by resource type), so a wrong
entry changes what a customer's trail delivers. Each table follows AWS's
service documentation ("<service> information in CloudTrail", "Logging data
events"); operations not listed fall back to the name rule AWS's own
operations follow (Get*, List*, Describe* ... are read-only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# Services whose eventSource is not ``<service>.amazonaws.com`` (botocore name -> eventSource).
_EVENT_SOURCES: dict[str, str] = {
    "cloudwatch": "monitoring.amazonaws.com",
    "elbv2": "elasticloadbalancing.amazonaws.com",
    "elb": "elasticloadbalancing.amazonaws.com",
    "stepfunctions": "states.amazonaws.com",
    "cognito-idp": "cognito-idp.amazonaws.com",
    "lex-models": "lex.amazonaws.com",
    "opensearch": "es.amazonaws.com",
    "sso-admin": "sso.amazonaws.com",
    "resourcegroupstaggingapi": "tagging.amazonaws.com",
}

# Global services: AWS logs their calls in us-east-1, whatever region the client named.
GLOBAL_REGION = "us-east-1"
_GLOBAL_SERVICES = frozenset({"iam", "organizations", "cloudfront", "route53", "account", "budgets", "ce"})

# Data events (eventCategory "Data", managementEvent false), by service.
# S3: the object-level operations of "Amazon S3 CloudTrail events" (data events table).
_DATA_EVENTS: dict[str, frozenset[str]] = {
    "s3": frozenset({
        "AbortMultipartUpload", "CompleteMultipartUpload", "CopyObject", "CreateMultipartUpload",
        "DeleteObject", "DeleteObjects", "DeleteObjectTagging", "GetObject", "GetObjectAcl",
        "GetObjectAttributes", "GetObjectLegalHold", "GetObjectRetention", "GetObjectTagging",
        "GetObjectTorrent", "HeadObject", "ListObjects", "ListObjectsV2", "ListObjectVersions",
        "ListMultipartUploads", "ListParts", "PutObject", "PutObjectAcl", "PutObjectLegalHold",
        "PutObjectRetention", "PutObjectTagging", "RestoreObject", "SelectObjectContent",
        "UploadPart", "UploadPartCopy", "WriteGetObjectResponse", "RenameObject",
    }),
    "lambda": frozenset({"Invoke", "InvokeWithResponseStream", "InvokeAsync"}),
    "dynamodb": frozenset({
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchGetItem", "BatchWriteItem", "Query", "Scan",
        "TransactGetItems", "TransactWriteItems", "ExecuteStatement", "BatchExecuteStatement",
        "ExecuteTransaction",
    }),
    "sns": frozenset({"Publish", "PublishBatch"}),
    "sqs": frozenset({"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
                      "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}),
    "secretsmanager": frozenset({"GetSecretValue", "BatchGetSecretValue"}),
    "cloudtrail-data": frozenset({"PutAuditEvents"}),
}
# The resources.type a data event's trail selectors match (DataResources.Type).
DATA_RESOURCE_TYPES: dict[str, str] = {
    "s3": "AWS::S3::Object",
    "lambda": "AWS::Lambda::Function",
    "dynamodb": "AWS::DynamoDB::Table",
    "sns": "AWS::SNS::Topic",
    "sqs": "AWS::SQS::Queue",
    "secretsmanager": "AWS::SecretsManager::Secret",
}

_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "Select", "BatchGet", "Query", "Scan")

# Read-only operations the name rule misses.
_READ_ONLY: dict[str, frozenset[str]] = {
    # STS: every operation is logged readOnly true (it reads who you are and hands out credentials).
    "sts": frozenset({"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetSessionToken",
                      "GetFederationToken", "GetCallerIdentity", "GetAccessKeyInfo", "DecodeAuthorizationMessage",
                      "AssumeRoot", "GetWebIdentityToken"}),
    # KMS cryptographic operations read the key; the control plane writes.
    "kms": frozenset({"Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                      "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom",
                      "GenerateMac", "VerifyMac", "Sign", "Verify", "DeriveSharedSecret"}),
    "iam": frozenset({"SimulatePrincipalPolicy", "SimulateCustomPolicy"}),
    "dynamodb": frozenset({"ExecuteStatement"}),
    "sqs": frozenset({"ReceiveMessage"}),
}

# Read-only calls whose responseElements AWS still logs: the credentials handed out
# (without the secret; see ``trail_record``) are the point of the event.
_RESPONSE_ON_READ = frozenset({
    ("sts", "AssumeRole"), ("sts", "AssumeRoleWithWebIdentity"), ("sts", "AssumeRoleWithSAML"),
    ("sts", "GetSessionToken"), ("sts", "GetFederationToken"), ("sts", "AssumeRoot"),
})


@dataclass(frozen=True, slots=True)
class EventClass:
    """How CloudTrail files one operation: readOnly, eventCategory and managementEvent."""

    read_only: bool
    category: str  # "Management" | "Data"

    @property
    def management(self) -> bool:
        """managementEvent: true for everything but data events."""
        return self.category == "Management"


@cache
def classify(service: str, operation: str) -> EventClass:
    """The event class of ``service:operation`` (memoized: a few hundred distinct operations at most)."""
    read_only = operation in _READ_ONLY.get(service, ()) or operation.startswith(_READ_PREFIXES)
    data = operation in _DATA_EVENTS.get(service, ())
    return EventClass(read_only, "Data" if data else "Management")


def event_source(service: str) -> str:
    """The eventSource of a service's calls (``iam.amazonaws.com``, CloudWatch's ``monitoring.amazonaws.com``)."""
    return _EVENT_SOURCES.get(service) or f"{service}.amazonaws.com"


def event_region(service: str, region: str) -> str:
    """awsRegion: us-east-1 for global services (IAM, Organizations ...), else the call's region."""
    return GLOBAL_REGION if service in _GLOBAL_SERVICES else region


def logs_response_when_read_only(service: str, operation: str) -> bool:
    """Whether a read-only call still logs its responseElements (STS credential operations)."""
    return (service, operation) in _RESPONSE_ON_READ
