"""A null or a wrongly typed value inside a list or map is refused at the front door, in every awsJson
service Rampart serves.

Each operation with a handler gets, in each of its list and map members (top level, and inside list
elements, map values and structure members down to ``_DEPTH`` containers), one bad list element or
map value: a JSON null, or a value of a JSON type the member's shape never takes. The rest of the
request is model-valid and names real resources of a fresh account (a KMS key of the right kind, a
trail, the organization's root), so nothing but the bad value stops it before a handler. A null must
get AWS's ValidationException naming it (one violation, "Member must not be null"), a wrong type a
SerializationException: never a 5xx, a dropped connection or a handler meeting a None.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from rampart.aws.models import SUPPORTED_SERVICES, Shape, service_model, wire_protocols
from rampart.gateway import registry
from rampart.protocol.jsonproto import JSON_ENCODER
from tests.conftest import Server
from tests.protocol import shapegen
from tests.services.cloudtrail.support import trail_bucket
from tests.services.hostile import SERVER_FAILURES, raw_call, raw_json_call
from tests.services.s3.test_malformed import signed

# How many containers (lists, maps, structures) below the input the null may be put: 5 reaches
# PutEventSelectors' EventSelectors[0].DataResources[0].Values[0].
_DEPTH = 5
_CONTAINERS = ("list", "map", "structure")
_SCP = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def _served_json_operations() -> list[tuple[str, str]]:
    """(service, operation) for every operation Rampart handles in a service whose wire protocol is awsJson."""
    registry.load_services()
    return [(service, operation) for service in SUPPORTED_SERVICES
            if wire_protocols(service_model(service))[0] == "json"
            for operation in service_model(service).operation_names
            if registry.lookup(service, operation) is not None]


def _misfit(shape: Shape) -> Any:
    """A JSON value of a type ``shape`` never takes (the model's inputs have no document lists or maps)."""
    return [] if shape.type_name in ("structure", "map") else {}


# Each bad value: what to put in a list element or map value, and the check of the answer (code, message).
_BAD: dict[str, tuple[Callable[[Shape], Any], Callable[[str, str], bool]]] = {
    "null": (lambda _: None, lambda code, message: code == "ValidationException" and message.startswith(
        "1 validation error detected: ") and "Member must not be null" in message),
    "misfit": (_misfit, lambda code, _: code == "SerializationException"),
}


@dataclass(frozen=True)
class _Probe:
    """One request: where the bad value is, and the JSON body carrying it."""

    service: str
    operation: str
    where: str
    body: dict[str, Any]


class _Values:
    """Model-valid member values: the account's real resources by member name, shapegen for the rest.

    ``known`` is keyed by service, or ``service:operation`` for values one operation needs; the latter
    are sent even where the model calls them optional (a handler would refuse the request without them).
    """

    def __init__(self, known: dict[str, dict[str, Any]]) -> None:
        self.known = known
        self.rng = random.Random(7)

    def of(self, service: str, operation: str, name: str, shape: Shape) -> Any:
        """A valid Python value for a member (the operation's own choice first, then the service's)."""
        for scope in (f"{service}:{operation}", service):
            if name in self.known.get(scope, {}):
                return self.known[scope][name]
        return shapegen.random_value(self.rng, shape, depth=_DEPTH, safe=True)

    def needed(self, service: str, operation: str, shape: Shape) -> dict[str, Any]:
        """A structure's required members and those its operation needs, valid (Python values, member names)."""
        needed = [*shape.required_members, *(n for n in self.known.get(f"{service}:{operation}", {})
                                             if n in shape.members and n not in shape.required_members)]
        return {name: self.of(service, operation, name, shape.members[name]) for name in needed}


def _wire_name(shape: Shape, name: str) -> str:
    return shape.members[name].serialization.get("name", name)


def _with_bad(shape: Shape, bad: Callable[[Shape], Any], values: _Values, service: str, operation: str,
              depth: int) -> Iterator[tuple[str, Any]]:
    """(where, wire value) for each value of ``shape`` that is valid but for one bad list element or map
    value; ``depth``: how many containers below this one may still be entered."""
    kind = shape.type_name
    if kind == "list":
        yield "[0]", [bad(shape.member)]
        if depth > 0:
            for where, inner in _with_bad(shape.member, bad, values, service, operation, depth - 1):
                yield f"[0]{where}", [inner]
    elif kind == "map":
        key = shapegen.random_string(values.rng, shape.key, True)
        yield "{k}", {key: bad(shape.value)}
        if depth > 0:
            for where, inner in _with_bad(shape.value, bad, values, service, operation, depth - 1):
                yield f"{{k}}{where}", {key: inner}
    elif kind == "structure" and not shape.is_document_type and depth > 0:
        required = values.needed(service, operation, shape)
        for name, member in shape.members.items():
            if member.type_name not in _CONTAINERS:
                continue
            others = JSON_ENCODER.encode_members({k: v for k, v in required.items() if k != name}, shape)
            for where, inner in _with_bad(member, bad, values, service, operation, depth - 1):
                yield f".{name}{where}", {**others, _wire_name(shape, name): inner}


def _probes(values: _Values, bad: Callable[[Shape], Any]) -> list[_Probe]:
    """Every placement of a bad value in every served awsJson operation, on a request otherwise valid."""
    probes = []
    for service, operation in _served_json_operations():
        shape = service_model(service).operation_model(operation).input_shape
        if shape is None:
            continue
        for where, body in _with_bad(shape, bad, values, service, operation, _DEPTH):
            probes.append(_Probe(service, operation, where.removeprefix("."), body))
    return probes


@pytest.fixture(scope="module")
def account(server: Server) -> tuple[dict[str, str], _Values]:
    """A fresh account with an organization, KMS keys of each kind and a trail; its keys and valid values."""
    account_id, creds = server.new_account("nulls")
    kms = server.client("kms", **creds)
    symmetric = kms.create_key()["KeyMetadata"]["Arn"]
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    hmac = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["Arn"]
    org = server.client("organizations", **creds)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    bucket = trail_bucket(server.client("s3", **creds), account_id, f"nulls-{secrets.token_hex(5)}")
    trail = server.client("cloudtrail", **creds).create_trail(Name=f"nulls-{secrets.token_hex(4)}",
                                                              S3BucketName=bucket)["TrailARN"]
    known: dict[str, dict[str, Any]] = {
        "kms": {"KeyId": symmetric, "SourceKeyId": symmetric, "DestinationKeyId": symmetric,
                "Plaintext": b"secret", "GranteePrincipal": f"arn:aws:iam::{account_id}:root"},
        "organizations": {"ParentId": root, "ResourceId": root, "Email": "nulls@example.com", "AccountName": "nulls",
                          "Name": "nulls", "Content": _SCP, "Description": "nulls",
                          "Type": "SERVICE_CONTROL_POLICY", "Id": "111122223333"},
        "cloudtrail": {"Name": trail, "TrailName": trail, "ResourceId": trail, "S3BucketName": bucket},
        "cloudtrail:CreateTrail": {"Name": f"nulls-new-{secrets.token_hex(4)}"},
        "cloudtrail:PutInsightSelectors": {"TrailName": trail},
    }
    ciphertext = kms.encrypt(KeyId=symmetric, Plaintext=b"secret")["CiphertextBlob"]
    for operation in ("Decrypt", "ReEncrypt"):
        known[f"kms:{operation}"] = {"CiphertextBlob": ciphertext}
    for operation in ("GenerateDataKey", "GenerateDataKeyWithoutPlaintext"):
        known[f"kms:{operation}"] = {"KeySpec": "AES_256"}
    for operation in ("GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"):
        known[f"kms:{operation}"] = {"KeyPairSpec": "RSA_2048"}
    for operation in ("Sign", "Verify", "GetPublicKey"):
        known[f"kms:{operation}"] = {"KeyId": signing, "SigningAlgorithm": "RSASSA_PSS_SHA_256", "Signature": b"s" * 256}
    for operation in ("GenerateMac", "VerifyMac"):
        known[f"kms:{operation}"] = {"KeyId": hmac, "MacAlgorithm": "HMAC_SHA_256", "Mac": b"m" * 32}
    return creds, _Values(known)


def _problem(server: Server, creds: dict[str, str], probe: _Probe, expected: Callable[[str, str], bool]) -> str | None:
    """What is wrong with the answer to a probe, or None when it is the AWS error ``expected`` accepts."""
    try:
        answer = raw_json_call(server.endpoint, probe.service, probe.operation, json.dumps(probe.body).encode(),
                               creds["aws_access_key_id"], creds["aws_secret_access_key"])
    except httpx.HTTPError as dropped:
        return f"no answer: {dropped!r}"
    if not 400 <= answer.status_code < 500:
        return f"HTTP {answer.status_code}: {answer.text[:160]}"
    try:
        code = str(answer.json().get("__type", ""))
    except ValueError:
        return f"HTTP {answer.status_code}, not JSON: {answer.text[:160]}"
    message = str(answer.json().get("message", ""))
    if code in SERVER_FAILURES or not expected(code, message):
        return f"HTTP {answer.status_code} {code}: {message[:200]}"
    return None


def test_the_sweep_covers_every_json_service() -> None:
    """The sweep finds the awsJson services (a protocol or registry change must not empty it)."""
    assert {service for service, _ in _served_json_operations()} >= {"kms", "organizations", "cloudtrail"}


@pytest.mark.parametrize("kind", sorted(_BAD))
def test_bad_value_in_any_list_or_map_is_refused(server: Server, account: tuple[dict[str, str], _Values],
                                                 kind: str) -> None:
    creds, values = account
    bad, expected = _BAD[kind]
    probes = _probes(values, bad)
    assert len(probes) >= 50
    problems = [(probe, found) for probe in probes if (found := _problem(server, creds, probe, expected)) is not None]
    assert not problems, f"{len(problems)} of {len(probes)}:\n" + "\n".join(
        f"{p.service}:{p.operation} {p.where}: {found}" for p, found in problems)


# ---- query and REST-XML: no null on the wire, but empty elements and members without a value -------------

_EMPTY_QUERY = [
    ("iam", "Action=CreateUser&Version=2010-05-08&UserName=e1&Tags.member.1="),
    ("iam", "Action=CreateUser&Version=2010-05-08&UserName=e2&Tags.member.1.Key="),
    ("iam", "Action=CreateUser&Version=2010-05-08&UserName=e3&Tags.member.1.Bogus=x"),
    ("iam", "Action=UntagUser&Version=2010-05-08&UserName=e4&TagKeys.member.1="),
    ("iam", "Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https://e.example.com&ThumbprintList.member.1="),
    ("iam", "Action=SimulateCustomPolicy&Version=2010-05-08&PolicyInputList.member.1=&ActionNames.member.1=a"),
    ("sts", ("Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s"
            "&PolicyArns.member.1=&Tags.member.1=&TransitiveTagKeys.member.1=")),
    ("sts", "Action=GetFederationToken&Version=2011-06-15&Name=bob&PolicyArns.member.1.x=&Tags.member.1.Value=v"),
]

# (method, path under the bucket, body): empty elements where the schema wants content.
_EMPTY_XML = [
    ("POST", "?delete", b"<Delete><Object/></Delete>"),
    ("POST", "?delete", b"<Delete><Object><Key/></Object></Delete>"),
    ("PUT", "?tagging", b"<Tagging><TagSet><Tag/></TagSet></Tagging>"),
    ("PUT", "/k?tagging", b"<Tagging><TagSet><Tag><Key/><Value/></Tag></TagSet></Tagging>"),
    ("PUT", "?cors", b"<CORSConfiguration><CORSRule/></CORSConfiguration>"),
    ("PUT", "?cors", b"<CORSConfiguration><CORSRule><AllowedMethod/><AllowedOrigin/></CORSRule></CORSConfiguration>"),
    ("PUT", "?lifecycle", b"<LifecycleConfiguration><Rule/></LifecycleConfiguration>"),
    ("PUT", "?lifecycle", (b"<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter><And><Tag/></And></Filter>"
                          b"<Transition/></Rule></LifecycleConfiguration>")),
    ("PUT", "?encryption", b"<ServerSideEncryptionConfiguration><Rule/></ServerSideEncryptionConfiguration>"),
    ("PUT", "?ownershipControls", b"<OwnershipControls><Rule/></OwnershipControls>"),
    ("PUT", "?acl", b"<AccessControlPolicy><AccessControlList><Grant/></AccessControlList></AccessControlPolicy>"),
    ("PUT", "?logging", b"<BucketLoggingStatus><LoggingEnabled/></BucketLoggingStatus>"),
    ("PUT", "?versioning", b"<VersioningConfiguration><Status/></VersioningConfiguration>"),
]


def _xml_problem(answer: httpx.Response) -> str | None:
    """What is wrong with a query or S3 answer that must be an AWS 4xx error, or None."""
    code = answer.text.partition("<Code>")[2].partition("</Code>")[0]
    if not 400 <= answer.status_code < 500 or not code or code in SERVER_FAILURES:
        return f"HTTP {answer.status_code} {code}: {answer.text[:160]}"
    return None


def test_empty_query_members_are_refused(server: Server) -> None:
    """IAM and STS: a list element or structure with no value is a 4xx error (or dropped), never a crash."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    problems = [(body, found) for service, body in _EMPTY_QUERY if (found := _xml_problem(raw_call(
        server.endpoint, service, body.encode(), form, server.access_key_id, server.secret_access_key))) is not None]
    assert not problems, problems


def test_empty_xml_elements_are_refused(server: Server) -> None:
    """S3: empty list elements and members in an XML body are a 4xx error, never a crash."""
    bucket = f"empty-members-{secrets.token_hex(4)}"
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    problems = [(query, body, found) for method, query, body in _EMPTY_XML
                if (found := _xml_problem(signed(server, method, f"/{bucket}{query}", body))) is not None]
    assert not problems, problems
