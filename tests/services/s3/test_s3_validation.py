"""Model violations in S3 requests answer S3's own codes (InvalidArgument, MalformedXML ...), and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rampart.aws.errors import AwsError, ValidationError
from rampart.aws.models import operation_model
from rampart.protocol.validate import validate
from tests.conftest import Server
from tests.services.iam.helpers import unique


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


# (what, call on (client, bucket), code, message, ArgumentName or None)
CASES: list[tuple[str, Callable[[Any, str], Any], str, str | None, str | None]] = [
    ("storage class", lambda s3, b: s3.put_object(Bucket=b, Key="new", Body=b"x", StorageClass="NOPE"),
     "InvalidStorageClass", "The storage class you specified is not valid", None),
    ("encryption", lambda s3, b: s3.put_object(Bucket=b, Key="new", Body=b"x", ServerSideEncryption="rot13"),
     "InvalidArgument", "The encryption method specified is not supported", "x-amz-server-side-encryption"),
    ("canned ACL", lambda s3, b: s3.put_object(Bucket=b, Key="new", Body=b"x", ACL="everyone"),
     "InvalidArgument", None, "x-amz-acl"),
    ("metadata directive", lambda s3, b: s3.copy_object(Bucket=b, Key="new", CopySource=f"{b}/k",
                                                        MetadataDirective="MERGE"),
     "InvalidArgument", "Unknown metadata directive.", "x-amz-metadata-directive"),
    ("encoding type", lambda s3, b: s3.list_objects_v2(Bucket=b, EncodingType="base64"),
     "InvalidArgument", "Invalid Encoding Method specified in Request", "encoding-type"),
    ("versioning status (body)", lambda s3, b: s3.put_bucket_versioning(
        Bucket=b, VersioningConfiguration={"Status": "Off"}),
     "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema",
     None),
    ("part number", lambda s3, b: s3.upload_part(
        Bucket=b, Key="k", UploadId=s3.create_multipart_upload(Bucket=b, Key="k")["UploadId"], PartNumber=10001,
        Body=b"x"),
     "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", "partNumber"),
]


@pytest.mark.parametrize(("what", "call", "code", "message", "argument"), CASES, ids=[c[0] for c in CASES])
def test_s3_answers_its_own_codes(s3: Any, bucket: str, what: str, call: Callable[[Any, str], Any], code: str,
                                  message: str | None, argument: str | None) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"original")
    error = error_of(lambda: call(s3, bucket))
    assert (error["Code"], error["Status"]) == (code, 400)
    if message is not None:
        assert error["Message"] == message
    if argument is not None:
        assert error["ArgumentName"] == argument
    # Nothing changed.
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="new")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"original"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_location_constraint(s3: Any) -> None:
    name = unique("valid-loc")
    error = error_of(lambda: s3.create_bucket(Bucket=name,
                                              CreateBucketConfiguration={"LocationConstraint": "mars-north-1"}))
    assert (error["Code"], error["Status"], error["Message"]) == (
        "InvalidLocationConstraint", 400, "The specified location-constraint is not valid")
    assert error["LocationConstraint"] == "mars-north-1"
    assert error_of(lambda: s3.head_bucket(Bucket=name))["Code"] == "404"


def test_max_buckets_out_of_range(server: Server) -> None:
    unchecked = server.client("s3", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    error = error_of(lambda: unchecked.list_buckets(MaxBuckets=0))
    assert (error["Code"], error["ArgumentName"], error["ArgumentValue"]) == ("InvalidArgument", "max-buckets", "0")


# (service, operation, params, expected code): the same checks stay generic outside S3.
UNIT_CASES = [
    ("s3", "PutObject", {"Bucket": "b", "Key": "k", "StorageClass": "X"}, "InvalidStorageClass"),
    ("s3", "PutBucketVersioning", {"Bucket": "b", "VersioningConfiguration": {"Status": "Off"}}, "MalformedXML"),
    ("s3", "PutBucketTagging", {"Bucket": "b"}, "MalformedXML"),  # the required body is missing
    ("s3", "ListObjectsV2", {"Bucket": "b", "EncodingType": "x"}, "InvalidArgument"),
    ("s3control", "GetPublicAccessBlock", {"AccountId": "not-an-account"}, "ValidationError"),
    ("iam", "GetUser", {"UserName": "a b"}, "ValidationError"),
]


@pytest.mark.parametrize(("service", "operation", "params", "code"), UNIT_CASES)
def test_codes_by_service(service: str, operation: str, params: dict[str, Any], code: str) -> None:
    with pytest.raises(AwsError) as caught:
        validate(operation_model(service, operation).input_shape, params)
    assert caught.value.code == code
    assert isinstance(caught.value, ValidationError) == (code == "ValidationError")


def test_valid_s3_input_passes() -> None:
    validate(operation_model("s3", "PutObject").input_shape, {"Bucket": "b", "Key": "k", "StorageClass": "GLACIER"})
