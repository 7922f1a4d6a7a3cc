"""build_event(s) over hand-made call records: every userIdentity form, classification, spelling, secrets,
and the resource owner's copy of a cross-account call."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from rampart.accounts import PrincipalRef, root_principal
from rampart.events.records import HIDDEN, CallRecord
from rampart.events.trail_classes import classify, event_region, event_source
from rampart.events.trail_record import build_event, build_events
from rampart.events.trail_spelling import aws_time
from rampart.gateway.service_calls import ServicePrincipalRef
from rampart.services.sts.sessions import SessionSpec, principal_of

ACCT = "111122223333"
OTHER = "444455556666"
T0 = dt.datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=dt.UTC)
USER = PrincipalRef(ACCT, "user", "alice", f"arn:aws:iam::{ACCT}:user/alice", "AIDAEXAMPLEALICE00001")
ROLE_ARN = f"arn:aws:iam::{ACCT}:role/deploy"


def _spec(kind: str, **kw: Any) -> SessionSpec:
    base: dict[str, Any] = {"account_id": ACCT, "kind": kind, "issued_at": T0, "expires_at": T0 + dt.timedelta(hours=1)}
    if kind == "assumed-role":
        base |= {"arn": f"arn:aws:sts::{ACCT}:assumed-role/deploy/s1", "user_id": "AROAEXAMPLEROLE000001:s1",
                 "issuer_arn": ROLE_ARN, "name": "s1"}
    elif kind == "federated-user":
        base |= {"arn": f"arn:aws:sts::{ACCT}:federated-user/bob", "user_id": f"{ACCT}:bob",
                 "issuer_arn": USER.arn, "name": "bob"}
    elif kind == "user":
        base |= {"arn": USER.arn, "user_id": USER.user_id, "issuer_arn": USER.arn, "name": "alice"}
    else:
        base |= {"arn": f"arn:aws:iam::{ACCT}:root", "user_id": ACCT, "issuer_arn": None}
    return SessionSpec(**(base | kw))


def _record(service: str = "iam", operation: str = "CreateUser", principal: Any = USER, **kw: Any) -> CallRecord:
    account = kw.pop("account_id", getattr(principal, "account_id", None))
    values: dict[str, Any] = {
        "request_id": "req-1", "event_time": T0, "service": service, "operation": operation, "region": "eu-west-1",
        "source_ip": "192.0.2.7", "user_agent": "Boto3/1.0", "account_id": account,
        "principal_arn": getattr(principal, "arn", None), "principal_kind": getattr(principal, "kind", None),
        "principal_id": getattr(principal, "user_id", None), "access_key_id": kw.pop("access_key_id", "AKIAEXAMPLE"),
        "http_status": 200, "principal": principal,
    }
    return CallRecord(**(values | kw))


def _body(record: CallRecord) -> dict[str, Any]:
    event = build_event(record)
    assert event is not None
    json.dumps(event.body)  # always serializable
    return event.body


# --- userIdentity -------------------------------------------------------------------------------

IDENTITY_CASES = [
    ("root", root_principal(ACCT), {"type": "Root", "principalId": ACCT, "arn": f"arn:aws:iam::{ACCT}:root",
                                    "accountId": ACCT, "accessKeyId": "AKIAEXAMPLE"}, "root"),
    ("iam-user", USER, {"type": "IAMUser", "principalId": USER.user_id, "arn": USER.arn, "accountId": ACCT,
                        "accessKeyId": "AKIAEXAMPLE", "userName": "alice"}, "alice"),
    ("service", ServicePrincipalRef("cloudtrail.amazonaws.com", "arn:aws:cloudtrail:eu-west-1:1:trail/t", ACCT),
     {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}, "cloudtrail.amazonaws.com"),
]


@pytest.mark.parametrize(("name", "principal", "expected", "username"), IDENTITY_CASES, ids=[c[0] for c in IDENTITY_CASES])
def test_long_term_identities(name: str, principal: Any, expected: dict[str, Any], username: str) -> None:
    event = build_event(_record(principal=principal, account_id=ACCT))
    assert event is not None
    assert event.body["userIdentity"] == expected
    assert event.username == username


def test_assumed_role_has_session_context() -> None:
    spec = _spec("assumed-role", mfa_authenticated=True, source_identity="alice@corp")
    event = build_event(_record(principal=principal_of("ASIAEXAMPLE", spec), access_key_id="ASIAEXAMPLE"))
    assert event is not None
    assert event.body["userIdentity"] == {
        "type": "AssumedRole", "principalId": "AROAEXAMPLEROLE000001:s1", "arn": spec.arn, "accountId": ACCT,
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLE000001", "arn": ROLE_ARN,
                              "accountId": ACCT, "userName": "deploy"},
            "attributes": {"creationDate": "2026-03-04T05:06:07Z", "mfaAuthenticated": "true"},
            "sourceIdentity": "alice@corp",
        },
    }
    assert event.username == "s1"


def test_web_identity_role_session_carries_federation_data() -> None:
    provider = f"arn:aws:iam::{ACCT}:oidc-provider/token.example.com"
    spec = _spec("assumed-role", federated_provider=provider)
    identity = _body(_record(principal=principal_of("ASIAX", spec)))["userIdentity"]
    assert identity["sessionContext"]["webIdFederationData"] == {"federatedProvider": provider, "attributes": {}}
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"


@pytest.mark.parametrize(("kind", "type_", "username"), [("federated-user", "FederatedUser", "bob"),
                                                        ("user", "IAMUser", "alice"), ("root", "Root", "root")])
def test_other_sessions(kind: str, type_: str, username: str) -> None:
    event = build_event(_record(principal=principal_of("ASIAX", _spec(kind)), access_key_id="ASIAX"))
    assert event is not None
    identity = event.body["userIdentity"]
    assert identity["type"] == type_
    assert identity["sessionContext"]["attributes"] == {"creationDate": "2026-03-04T05:06:07Z",
                                                        "mfaAuthenticated": "false"}
    assert event.username == username
    if kind == "federated-user":  # a token sealed before issuer_id existed: no issuer principalId
        assert identity["principalId"] == f"{ACCT}:bob"
        assert identity["sessionContext"]["sessionIssuer"] == {"type": "IAMUser", "arn": USER.arn,
                                                               "accountId": ACCT, "userName": "alice"}


FEDERATION_ISSUERS = [
    ("iam-user", {"issuer_arn": USER.arn, "issuer_id": USER.user_id},
     {"type": "IAMUser", "principalId": USER.user_id, "arn": USER.arn, "accountId": ACCT, "userName": "alice"}),
    ("root", {"issuer_arn": f"arn:aws:iam::{ACCT}:root", "issuer_id": ACCT},
     {"type": "Root", "principalId": ACCT, "arn": f"arn:aws:iam::{ACCT}:root", "accountId": ACCT}),
]


@pytest.mark.parametrize(("name", "fields", "issuer"), FEDERATION_ISSUERS, ids=[c[0] for c in FEDERATION_ISSUERS])
def test_federated_user_session_issuer(name: str, fields: dict[str, Any], issuer: dict[str, Any]) -> None:
    spec = _spec("federated-user", **fields)
    identity = _body(_record(principal=principal_of("ASIAX", spec), access_key_id="ASIAX"))["userIdentity"]
    assert identity == {
        "type": "FederatedUser", "principalId": f"{ACCT}:bob", "arn": spec.arn, "accountId": ACCT,
        "accessKeyId": "ASIAX",
        "sessionContext": {"sessionIssuer": issuer,
                           "attributes": {"creationDate": "2026-03-04T05:06:07Z", "mfaAuthenticated": "false"}},
    }


def test_old_tokens_without_issuer_id_still_open() -> None:
    sealed = _spec("federated-user", issuer_id=USER.user_id).to_json()
    assert SessionSpec.from_json(sealed).issuer_id == USER.user_id
    sealed.pop("issuer_id")
    assert SessionSpec.from_json(sealed).issuer_id is None


def test_web_identity_call_is_recorded_in_the_roles_account() -> None:
    record = _record("sts", "AssumeRoleWithWebIdentity", principal=None, account_id=None, access_key_id=None,
                     request_parameters={"RoleArn": ROLE_ARN, "RoleSessionName": "s1", "WebIdentityToken": HIDDEN},
                     response_elements={"SubjectFromWebIdentityToken": "user-7", "Audience": "app",
                                        "Provider": f"arn:aws:iam::{ACCT}:oidc-provider/token.example.com",
                                        "Credentials": {"AccessKeyId": "ASIAN", "SecretAccessKey": HIDDEN,
                                                        "SessionToken": "tok", "Expiration": T0}})
    event = build_event(record)
    assert event is not None and event.account_id == ACCT
    assert event.body["userIdentity"] == {"type": "WebIdentityUser", "principalId": "token.example.com:app:user-7",
                                          "userName": "user-7", "identityProvider": "token.example.com"}
    assert event.body["responseElements"]["credentials"] == {"accessKeyId": "ASIAN", "expiration": aws_time(T0)}
    assert event.body["resources"] == [{"ARN": ROLE_ARN, "accountId": ACCT, "type": "AWS::IAM::Role"}]
    assert event.body["readOnly"] is True


def test_saml_call_identity() -> None:
    record = _record("sts", "AssumeRoleWithSAML", principal=None, account_id=None,
                     request_parameters={"RoleArn": ROLE_ARN, "PrincipalArn": "p", "SAMLAssertion": HIDDEN},
                     response_elements={"Subject": "jane", "NameQualifier": "abc="})
    assert _body(record)["userIdentity"] == {"type": "SAMLUser", "principalId": "abc=:jane", "userName": "jane",
                                             "identityProvider": "abc="}


def test_anonymous_s3_read_goes_to_the_bucket_owner() -> None:
    record = _record("s3", "GetObject", principal=None, account_id=None, access_key_id=None,
                     request_parameters={"Bucket": "pub", "Key": "a.txt"}, resource_account=OTHER)
    event = build_event(record)
    assert event is not None and event.account_id == OTHER
    assert event.body["userIdentity"] == {"type": "AWSAccount", "principalId": "", "accountId": "ANONYMOUS_PRINCIPAL"}
    assert event.username is None


@pytest.mark.parametrize("kw", [{"service": None}, {"principal": None, "account_id": None}])
def test_nothing_known_is_not_recorded(kw: dict[str, Any]) -> None:
    assert build_event(_record(**kw)) is None


# --- cross-account calls: the resource owner's copy ---------------------------------------------

OTHER_KEY = f"arn:aws:kms:eu-west-1:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/shared"
KMS_ENCRYPT = {"service": "kms", "operation": "Encrypt", "request_parameters": {"KeyId": OTHER_KEY},
               "response_elements": {"KeyId": OTHER_KEY}}
S3_PUT = {"service": "s3", "operation": "PutObject", "request_parameters": {"Bucket": "theirs", "Key": "k"}}
ASSUME = {"service": "sts", "operation": "AssumeRole",
          "request_parameters": {"RoleArn": OTHER_ROLE, "RoleSessionName": "s1"}}
SERVICE = ServicePrincipalRef("cloudtrail.amazonaws.com", "arn:aws:cloudtrail:eu-west-1:1:trail/t", ACCT)

RECIPIENT_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("kms-key-of-another-account", KMS_ENCRYPT | {"resource_account": OTHER}, [ACCT, OTHER]),
    ("s3-bucket-of-another-account", S3_PUT | {"resource_account": OTHER}, [ACCT, OTHER]),
    ("assume-role-of-another-account", ASSUME | {"resource_account": OTHER}, [ACCT, OTHER]),
    ("error-after-authorization", KMS_ENCRYPT | {"resource_account": OTHER, "error_code": "DisabledException"},
     [ACCT, OTHER]),
    ("s3-denied-owner-still-sees-it", S3_PUT | {"resource_account": OTHER, "error_code": "AccessDenied"},
     [ACCT, OTHER]),
    ("kms-denied-stays-with-caller", KMS_ENCRYPT | {"resource_account": OTHER,
                                                    "error_code": "AccessDeniedException"}, [ACCT]),
    ("sts-denied-stays-with-caller", ASSUME | {"resource_account": OTHER, "error_code": "AccessDenied"}, [ACCT]),
    ("same-account", KMS_ENCRYPT | {"resource_account": ACCT}, [ACCT]),
    ("no-resource-looked-up", {"resource_account": None}, [ACCT]),
    ("not-an-account", S3_PUT | {"resource_account": "aws"}, [ACCT]),
    ("anonymous-goes-to-the-owner-once", S3_PUT | {"resource_account": OTHER, "principal": None, "account_id": None,
                                                   "access_key_id": None}, [OTHER]),
    ("aws-service", S3_PUT | {"resource_account": OTHER, "principal": SERVICE, "account_id": ACCT,
                              "access_key_id": None}, [ACCT]),
    ("not-recorded", {"principal": None, "account_id": None}, []),
]


@pytest.mark.parametrize(("name", "fields", "recipients"), RECIPIENT_CASES, ids=[c[0] for c in RECIPIENT_CASES])
def test_who_receives_the_call(name: str, fields: dict[str, Any], recipients: list[str]) -> None:
    events = build_events(_record(**fields))
    assert [event.account_id for event in events] == recipients
    assert [event.body["recipientAccountId"] for event in events] == recipients
    shared = {event.body.get("sharedEventID") for event in events}
    if len(events) == 2:
        assert shared == {events[0].body["sharedEventID"]} and None not in shared
    else:
        assert shared <= {None}
    assert len({event.event_id for event in events}) == len(events)


CALLER_CASES = [
    ("iam-user", USER, "AKIAEXAMPLE", USER.user_id),
    ("root", root_principal(ACCT), "AKIAEXAMPLE", ACCT),
    ("role-session", principal_of("ASIAX", _spec("assumed-role")), "ASIAX", "AROAEXAMPLEROLE000001:s1"),
]


@pytest.mark.parametrize(("name", "principal", "key", "principal_id"), CALLER_CASES,
                         ids=[c[0] for c in CALLER_CASES])
def test_owner_copy_fields(name: str, principal: Any, key: str, principal_id: str) -> None:
    caller, owner = build_events(_record(principal=principal, access_key_id=key, resource_account=OTHER,
                                         **KMS_ENCRYPT))
    assert caller.body == build_event(_record(principal=principal, access_key_id=key, resource_account=OTHER,
                                              **KMS_ENCRYPT)).body | {  # type: ignore[union-attr]
        "eventID": caller.event_id, "sharedEventID": caller.body["sharedEventID"]}
    assert owner.body["userIdentity"] == {"type": "AWSAccount", "principalId": principal_id, "accountId": ACCT}
    assert (owner.username, owner.access_key_id, caller.access_key_id) == (None, None, key)
    assert owner.body["sharedEventID"] == caller.body["sharedEventID"] and len(caller.body["sharedEventID"]) == 36
    assert owner.event_id == owner.body["eventID"] != caller.event_id
    resources = [{"accountId": OTHER, "type": "AWS::KMS::Key", "ARN": OTHER_KEY}]
    assert caller.body["resources"] == owner.body["resources"] == resources
    assert caller.resources == owner.resources == (("AWS::KMS::Key", OTHER_KEY),)
    same = ("requestParameters", "requestID", "eventTime", "sourceIPAddress", "userAgent", "eventName", "readOnly")
    assert {k: owner.body[k] for k in same} == {k: caller.body[k] for k in same}
    keys = list(owner.body)
    assert keys.index("sharedEventID") == keys.index("recipientAccountId") + 1  # AWS's field order
    json.dumps(owner.body)


def test_owner_copy_of_a_data_event_is_a_data_event() -> None:
    caller, owner = build_events(_record(resource_account=OTHER, **S3_PUT))
    assert (owner.category, owner.body["eventCategory"], owner.body["managementEvent"]) == ("Data", "Data", False)
    assert owner.body["resources"] == caller.body["resources"] == [
        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::theirs/k"},
        {"accountId": OTHER, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::theirs"}]


# --- classification -----------------------------------------------------------------------------

CLASS_CASES = [
    ("s3", "GetObject", True, "Data"), ("s3", "PutObject", False, "Data"), ("s3", "HeadObject", True, "Data"),
    ("s3", "DeleteObjects", False, "Data"), ("s3", "ListObjectsV2", True, "Data"),
    ("s3", "CreateMultipartUpload", False, "Data"), ("s3", "PutObjectAcl", False, "Data"),
    ("s3", "CreateBucket", False, "Management"), ("s3", "ListBuckets", True, "Management"),
    ("s3", "PutBucketPolicy", False, "Management"), ("s3", "HeadBucket", True, "Management"),
    ("kms", "Decrypt", True, "Management"), ("kms", "Encrypt", True, "Management"),
    ("kms", "GenerateDataKey", True, "Management"), ("kms", "CreateKey", False, "Management"),
    ("kms", "ScheduleKeyDeletion", False, "Management"), ("iam", "CreateUser", False, "Management"),
    ("iam", "ListUsers", True, "Management"), ("sts", "AssumeRole", True, "Management"),
    ("sts", "GetCallerIdentity", True, "Management"), ("lambda", "Invoke", False, "Data"),
    ("cloudtrail", "LookupEvents", True, "Management"), ("cloudtrail", "StopLogging", False, "Management"),
    ("organizations", "DescribeOrganization", True, "Management"),
]


@pytest.mark.parametrize(("service", "operation", "read_only", "category"), CLASS_CASES)
def test_classification(service: str, operation: str, read_only: bool, category: str) -> None:
    found = classify(service, operation)
    assert (found.read_only, found.category, found.management) == (read_only, category, category == "Management")


@pytest.mark.parametrize(("service", "source", "region"), [
    ("iam", "iam.amazonaws.com", "us-east-1"), ("organizations", "organizations.amazonaws.com", "us-east-1"),
    ("sts", "sts.amazonaws.com", "eu-west-1"), ("kms", "kms.amazonaws.com", "eu-west-1"),
    ("s3", "s3.amazonaws.com", "eu-west-1"), ("cloudwatch", "monitoring.amazonaws.com", "eu-west-1"),
])
def test_event_source_and_region(service: str, source: str, region: str) -> None:
    assert (event_source(service), event_region(service, "eu-west-1")) == (source, region)


# --- the record ---------------------------------------------------------------------------------


def test_iam_write_record_fields() -> None:
    record = _record(request_parameters={"UserName": "bob", "Path": "/", "Tags": [{"Key": "K", "Value": "v"}]},
                     response_elements={"User": {"UserName": "bob", "UserId": "AIDABOB", "Arn": "arn", "Path": "/",
                                                 "CreateDate": T0}})
    event = build_event(record)
    assert event is not None
    body = event.body
    assert body["eventVersion"] == "1.11" and body["eventTime"] == "2026-03-04T05:06:07Z"
    assert body["eventSource"] == "iam.amazonaws.com" and body["awsRegion"] == "us-east-1"
    assert body["requestParameters"] == {"userName": "bob", "path": "/", "tags": [{"key": "K", "value": "v"}]}
    assert body["responseElements"] == {"user": {"userName": "bob", "userId": "AIDABOB", "arn": "arn", "path": "/",
                                                 "createDate": "Mar 4, 2026, 5:06:07 AM"}}
    assert body["requestID"] == "req-1" and body["eventID"] != "req-1" and len(body["eventID"]) == 36
    assert (body["eventType"], body["managementEvent"], body["eventCategory"]) == ("AwsApiCall", True, "Management")
    assert body["recipientAccountId"] == ACCT and body["readOnly"] is False
    assert "errorCode" not in body and "resources" not in body
    assert ("AWS::IAM::User", f"arn:aws:iam::{ACCT}:user/bob") in event.resources
    assert event.event_id == body["eventID"] and event.access_key_id == "AKIAEXAMPLE"


def test_map_keys_keep_their_spelling() -> None:
    record = _record("kms", "Encrypt", request_parameters={"KeyId": "alias/x", "EncryptionContext": {"Dept": "a"},
                                                           "Plaintext": HIDDEN})
    assert _body(record)["requestParameters"] == {"keyId": "alias/x", "encryptionContext": {"Dept": "a"},
                                                  "plaintext": HIDDEN}


def test_read_only_calls_log_no_response() -> None:
    body = _body(_record(operation="ListUsers", response_elements={"Users": []}))
    assert body["responseElements"] is None and body["readOnly"] is True


def test_failed_call() -> None:
    body = _body(_record(error_code="AccessDenied", error_message="User: x is not authorized",
                         request_parameters={"UserName": "bob"}, response_elements=None, http_status=403))
    assert (body["errorCode"], body["errorMessage"]) == ("AccessDenied", "User: x is not authorized")
    assert body["responseElements"] is None and body["requestParameters"] == {"userName": "bob"}


def test_create_access_key_never_shows_the_secret() -> None:
    record = _record(operation="CreateAccessKey", request_parameters={"UserName": "bob"},
                     response_elements={"AccessKey": {"UserName": "bob", "AccessKeyId": "AKIAB", "Status": "Active",
                                                      "SecretAccessKey": "s3cr3t", "CreateDate": T0}})
    body = _body(record)
    assert body["responseElements"] == {"accessKey": {"userName": "bob", "accessKeyId": "AKIAB", "status": "Active",
                                                      "createDate": "Mar 4, 2026, 5:06:07 AM"}}
    assert "s3cr3t" not in json.dumps(body)


def test_assume_role_response_without_secret_or_token() -> None:
    spec = _spec("assumed-role")
    record = _record("sts", "AssumeRole", principal=USER,
                     request_parameters={"RoleArn": ROLE_ARN, "RoleSessionName": "s1"},
                     response_elements={"Credentials": {"AccessKeyId": "ASIAN", "SecretAccessKey": "sec",
                                                        "SessionToken": "sealed-token", "Expiration": T0},
                                        "AssumedRoleUser": {"AssumedRoleId": spec.user_id, "Arn": spec.arn}})
    body = _body(record)
    text = json.dumps(body)
    assert "sec\"" not in text and "sealed-token" not in text
    assert body["responseElements"]["assumedRoleUser"] == {"assumedRoleId": spec.user_id, "arn": spec.arn}
    assert body["resources"] == [{"ARN": ROLE_ARN, "accountId": ACCT, "type": "AWS::IAM::Role"}]


def test_s3_object_event() -> None:
    record = _record("s3", "PutObject", request_parameters={"Bucket": "b1", "Key": "k/1", "ACL": "private",
                                                            "ContentLength": 3, "Body": b"abc"},
                     response_elements={"ETag": "\"e\""}, auth_type="REST-HEADER",
                     signature_version="AWS4-HMAC-SHA256", resource_account=ACCT)
    event = build_event(record)
    assert event is not None
    body = event.body
    assert body["requestParameters"] == {"bucketName": "b1", "key": "k/1", "x-amz-acl": "private"}
    assert body["additionalEventData"] == {"SignatureVersion": "SigV4", "AuthenticationMethod": "AuthHeader"}
    assert body["resources"] == [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b1/k/1"},
                                 {"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b1"}]
    assert (body["managementEvent"], body["eventCategory"], event.category) == (False, "Data", "Data")
    assert body["awsRegion"] == "eu-west-1"


def test_s3_query_members_and_presigned() -> None:
    record = _record("s3", "ListObjectsV2", request_parameters={"Bucket": "b1", "Prefix": "p/", "MaxKeys": 5},
                     auth_type="REST-QUERY-STRING", signature_version="AWS4-HMAC-SHA256")
    body = _body(record)
    assert body["requestParameters"] == {"bucketName": "b1", "prefix": "p/", "max-keys": 5}
    assert body["additionalEventData"]["AuthenticationMethod"] == "QueryString"


def test_kms_resources() -> None:
    key = "1234abcd-12ab-34cd-56ef-1234567890ab"
    body = _body(_record("kms", "Decrypt", request_parameters={"CiphertextBlob": b"x"},
                         response_elements={"KeyId": f"arn:aws:kms:eu-west-1:{ACCT}:key/{key}"}))
    assert body["resources"] == [{"accountId": ACCT, "type": "AWS::KMS::Key",
                                  "ARN": f"arn:aws:kms:eu-west-1:{ACCT}:key/{key}"}]
    assert body["requestParameters"] == {} or body["requestParameters"] is None
    by_id = _body(_record("kms", "DisableKey", request_parameters={"KeyId": key}))
    assert by_id["resources"][0]["ARN"] == f"arn:aws:kms:eu-west-1:{ACCT}:key/{key}"


def test_service_call_source_is_the_service() -> None:
    principal = ServicePrincipalRef("cloudtrail.amazonaws.com", "arn:aws:cloudtrail:eu-west-1:1:trail/t", ACCT)
    record = _record("s3", "PutObject", principal=principal, account_id=ACCT, access_key_id=None,
                     source_ip="cloudtrail.amazonaws.com", user_agent="cloudtrail.amazonaws.com",
                     request_parameters={"Bucket": "logs", "Key": "AWSLogs/x.json.gz"})
    body = _body(record)
    assert (body["sourceIPAddress"], body["userAgent"]) == ("cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com")
    assert body["userIdentity"] == {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}


def test_aws_time_spelling() -> None:
    assert aws_time(dt.datetime(2026, 1, 2, 0, 4, 5, tzinfo=dt.UTC)) == "Jan 2, 2026, 12:04:05 AM"
    assert aws_time(dt.datetime(2026, 1, 2, 15, 4, 5, tzinfo=dt.UTC)) == "Jan 2, 2026, 3:04:05 PM"
