"""What authorization costs: signed iam:GetUser by a policy-laden IAM user vs by root (no policies to gather).

Usage (from the repository root, in the venv):

    python bench/authz.py                      # 10 s per caller, 64 connections
    python bench/authz.py --rounds 3           # interleaved rounds, median shown

One Rampart server; root sets up a user with a realistic policy set: two
inline policies, three customer managed policies and one AWS managed policy
attached, membership in two groups that have policies of their own, a
permissions boundary, and tags. Both callers then replay the same kind of
pre-signed ``GetUser`` request (the user asks about itself, root asks about
the user) in interleaved rounds. Before measuring, every request of both
pools must answer 200, and the user's call to an action its policies do not
allow (iam:DeleteUser) must be refused: proof the engine ran. Prints figures
and the overhead ratio; it never passes or fails. The issue's target: the
user's throughput is within 15% of root's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _load
import _servers
import _sign

USER = "bench-alice"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions: list[str], resources: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def _deny(actions: list[str], resources: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


def setup_user(endpoint: str, key_id: str, secret: str, account: str) -> tuple[str, str]:
    """Create the benchmark user and its policies as root; returns the user's key pair."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id,
                       aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))
    me = f"arn:aws:iam::{account}:user/${{aws:username}}"
    managed = [
        _doc(_allow(["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::team-*", "arn:aws:s3:::team-*/*"])),
        _doc(_allow(["kms:Decrypt", "kms:Encrypt"], "*", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})),
        _doc(_deny(["iam:DeleteUser", "iam:DeleteRole", "iam:DeleteGroup"])),
    ]
    arns = [iam.create_policy(PolicyName=f"bench-managed-{n}", PolicyDocument=doc)["Policy"]["Arn"]
            for n, doc in enumerate(managed)]
    boundary = iam.create_policy(PolicyName="bench-boundary", PolicyDocument=_doc(
        _allow(["iam:Get*", "iam:List*", "s3:*", "kms:*", "cloudwatch:*", "logs:*", "sts:*"])))["Policy"]["Arn"]
    iam.create_user(UserName=USER, PermissionsBoundary=boundary,
                    Tags=[{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}])
    iam.put_user_policy(UserName=USER, PolicyName="self-service", PolicyDocument=_doc(
        _allow(["iam:GetUser", "iam:ListAccessKeys", "iam:GetLoginProfile"], me),
        _allow(["iam:ListMFADevices"], me, Condition={"Bool": {"aws:SecureTransport": "false"}})))
    iam.put_user_policy(UserName=USER, PolicyName="team-read", PolicyDocument=_doc(
        _allow(["cloudwatch:Get*", "cloudwatch:List*", "logs:Describe*"], "*",
               Condition={"StringEquals": {"aws:PrincipalTag/team": "payments"}})))
    for arn in arns:
        iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    iam.attach_user_policy(UserName=USER, PolicyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
    for group, actions in (("bench-devs", ["sqs:*", "sns:Publish"]), ("bench-oncall", ["ec2:Describe*"])):
        iam.create_group(GroupName=group)
        iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=_doc(_allow(actions)))
        iam.add_user_to_group(GroupName=group, UserName=USER)
    keys = iam.create_access_key(UserName=USER)["AccessKey"]
    return keys["AccessKeyId"], keys["SecretAccessKey"]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the figures."""
    args = _parser().parse_args(argv)
    use_wrk = _load.have_wrk() and args.generator != "asyncio"
    print(f"load generator: {'wrk' if use_wrk else 'asyncio'}; {args.connections} connections; "
          f"{args.rounds} round(s) of {args.warmup:g} s warm-up + {args.seconds:g} s per caller; cpus {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="rampart-authz-") as tmp:
        root_id, root_secret = _sign.generate_keys()
        spec = _servers.rampart_spec(_servers.free_port(), 1, Path(tmp) / "data", root_id, root_secret)
        with _servers.running(spec, Path(tmp)) as server:
            endpoint = f"http://{server.host}:{server.port}"
            user_id, user_secret = setup_user(endpoint, root_id, root_secret, "123456789012")
            _check_denied(endpoint, user_id, user_secret)
            callers = {"root": (root_id, root_secret), "user": (user_id, user_secret)}
            results: dict[str, list[_load.LoadResult]] = {name: [] for name in callers}
            for number in range(1, args.rounds + 1):
                for name, (key, secret) in callers.items():
                    results[name].append(_measure(server, key, secret, args, use_wrk, f"{name} round {number}"))
    _report(results)


def _check_denied(endpoint: str, key_id: str, secret: str) -> None:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id,
                       aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))
    try:
        iam.delete_user(UserName=USER)
    except ClientError as denied:
        print(f"pre-check: user's iam:DeleteUser -> {denied.response['Error']['Code']} (the engine ran)")
        return
    raise SystemExit("pre-check failed: the user's iam:DeleteUser was allowed")


def _measure(server: _servers.RunningServer, key: str, secret: str, args: argparse.Namespace,
             use_wrk: bool, label: str) -> _load.LoadResult:
    body = f"Action=GetUser&Version=2010-05-08&UserName={USER}"
    pool = _sign.presign(server.host, server.port, key, secret, args.pool, service="iam", body=body)
    return _servers.measure(server, [request.raw() for request in pool], seconds=args.seconds, warmup=args.warmup,
                            connections=args.connections, use_wrk=use_wrk, label=label)


def _report(results: dict[str, list[_load.LoadResult]]) -> None:
    """Throughput and server CPU per request, medians over the rounds, and what the engine costs.

    The CPU figure is the steadier one on a shared machine: other processes'
    load lowers both callers' throughput, but not the server's own CPU per call.
    """
    median = {name: _load.median([r.rps for r in runs]) for name, runs in results.items()}
    cpu = {name: _load.median([r.server_cpu_us for r in runs if r.server_cpu_us is not None]) for name, runs in results.items()}
    cost = 1 - median["user"] / median["root"] if median["root"] else float("nan")
    print(f"\nroot (no policies):    {median['root']:,.0f} req/s, {cpu['root']:.0f} server CPU-µs/req")
    print(f"IAM user (engine):    {median['user']:,.0f} req/s, {cpu['user']:.0f} server CPU-µs/req")
    print(f"authorization cost:   {cost:.1%} of throughput (target < 15%); "
          f"by server CPU: {1 - cpu['root'] / cpu['user']:.1%} ({cpu['user'] - cpu['root']:.0f} µs/req)")


def _parser() -> argparse.ArgumentParser:
    return _load.add_load_options(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))


if __name__ == "__main__":
    main()
