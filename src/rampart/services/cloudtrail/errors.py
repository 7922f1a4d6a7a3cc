"""CloudTrail's own errors, named after the model's error shapes (HTTP 400 on the JSON protocol).

Other CloudTrail modules add theirs here; each class says when CloudTrail answers it.
"""

from __future__ import annotations

from rampart.aws.errors import AwsError


class _CloudTrailError(AwsError):
    """Every CloudTrail exception is a client fault answered with HTTP 400."""

    status = 400


class TrailNotFoundException(_CloudTrailError):
    """No trail of that name or ARN is visible to the caller in this region."""

    code = "TrailNotFoundException"


class TrailAlreadyExistsException(_CloudTrailError):
    """A trail of that name already exists in the region (or a multi-region one anywhere)."""

    code = "TrailAlreadyExistsException"


class InvalidTrailNameException(_CloudTrailError):
    """A trail name outside AWS's rules (characters, length, adjacent punctuation, IP form)."""

    code = "InvalidTrailNameException"


class CloudTrailARNInvalidException(_CloudTrailError):
    """A trail ARN that is malformed, or names another account or region."""

    code = "CloudTrailARNInvalidException"


class MaximumNumberOfTrailsExceededException(_CloudTrailError):
    """The account already has five trails in the region."""

    code = "MaximumNumberOfTrailsExceededException"


class S3BucketDoesNotExistException(_CloudTrailError):
    """The trail's bucket does not exist."""

    code = "S3BucketDoesNotExistException"


class InsufficientS3BucketPolicyException(_CloudTrailError):
    """The bucket policy does not let cloudtrail.amazonaws.com check the ACL and write the logs."""

    code = "InsufficientS3BucketPolicyException"


class InvalidS3PrefixException(_CloudTrailError):
    """An S3 key prefix CloudTrail would not accept."""

    code = "InvalidS3PrefixException"


class InvalidS3BucketNameException(_CloudTrailError):
    """A bucket name outside S3's naming rules."""

    code = "InvalidS3BucketNameException"


class KmsKeyNotFoundException(_CloudTrailError):
    """The KMS key named by KmsKeyId does not exist (or is not in a usable state)."""

    code = "KmsKeyNotFoundException"


class InvalidKmsKeyIdException(_CloudTrailError):
    """A KmsKeyId in no form KMS accepts."""

    code = "InvalidKmsKeyIdException"


class InsufficientEncryptionPolicyException(_CloudTrailError):
    """The key policy does not let cloudtrail.amazonaws.com make data keys."""

    code = "InsufficientEncryptionPolicyException"


class InvalidParameterCombinationException(_CloudTrailError):
    """Parameters that cannot be used together."""

    code = "InvalidParameterCombinationException"


class InvalidParameterException(_CloudTrailError):
    """A parameter value CloudTrail does not accept."""

    code = "InvalidParameterException"


class InvalidHomeRegionException(_CloudTrailError):
    """A change to a multi-region trail asked in a region other than its home region."""

    code = "InvalidHomeRegionException"


class InvalidEventSelectorsException(_CloudTrailError):
    """Event selectors (basic or advanced) outside AWS's rules or limits."""

    code = "InvalidEventSelectorsException"


class InvalidInsightSelectorsException(_CloudTrailError):
    """Insight selectors outside AWS's rules."""

    code = "InvalidInsightSelectorsException"


class InsightNotEnabledException(_CloudTrailError):
    """GetInsightSelectors on a trail without Insights."""

    code = "InsightNotEnabledException"


class InvalidTagParameterException(_CloudTrailError):
    """Tag keys or values outside AWS's rules."""

    code = "InvalidTagParameterException"


class TagsLimitExceededException(_CloudTrailError):
    """More than 50 tags on one trail."""

    code = "TagsLimitExceededException"


class ResourceNotFoundException(_CloudTrailError):
    """AddTags / RemoveTags / ListTags on a resource that does not exist."""

    code = "ResourceNotFoundException"


class InvalidTokenException(_CloudTrailError):
    """A NextToken this server did not hand out (ListTrails, ListTags, ListPublicKeys ...)."""

    code = "InvalidTokenException"


class NotOrganizationMasterAccountException(_CloudTrailError):
    """An organization trail created or changed from an account that is not the organization's management account."""

    code = "NotOrganizationMasterAccountException"


class OrganizationsNotInUseException(_CloudTrailError):
    """IsOrganizationTrail from an account in no organization."""

    code = "OrganizationsNotInUseException"


class OrganizationNotInAllFeaturesModeException(_CloudTrailError):
    """IsOrganizationTrail in an organization with only consolidated billing."""

    code = "OrganizationNotInAllFeaturesModeException"


class CloudTrailAccessNotEnabledException(_CloudTrailError):
    """IsOrganizationTrail before trusted access for cloudtrail.amazonaws.com was enabled."""

    code = "CloudTrailAccessNotEnabledException"


class InvalidLookupAttributesException(_CloudTrailError):
    """LookupEvents: more than one lookup attribute, or one that does not apply to the event category."""

    code = "InvalidLookupAttributesException"


class InvalidTimeRangeException(_CloudTrailError):
    """A start time after the end time (LookupEvents, ListPublicKeys)."""

    code = "InvalidTimeRangeException"


class InvalidMaxResultsException(_CloudTrailError):
    """LookupEvents' MaxResults outside 1..50."""

    code = "InvalidMaxResultsException"


class InvalidNextTokenException(_CloudTrailError):
    """A LookupEvents NextToken this server did not hand out for this same query."""

    code = "InvalidNextTokenException"


class InvalidEventCategoryException(_CloudTrailError):
    """A LookupEvents EventCategory other than ``insight``."""

    code = "InvalidEventCategoryException"
