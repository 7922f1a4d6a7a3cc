"""Benchmark of rampart.aws.catalog: microseconds per requirements() call.

The authorize step calls requirements() on every request, so its cost adds to
every call's latency. Each operation's plan is compiled on first use (cost
printed as "cold"); the steady state ("warm") is what requests pay. Times are
the median of several rounds of CPU time (time.process_time). Prints figures;
asserts nothing.

    python bench/catalog.py
    python bench/catalog.py --calls 200000 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from rampart.aws.catalog import requirements

ACCOUNT = "123456789012"
REGION = "us-east-1"

CASES: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("iam", "GetUser", {}, "alice"),
    ("iam", "GetUser", {"UserName": "bob"}, None),
    ("iam", "ListUsers", {}, None),
    ("s3", "GetObject", {"Bucket": "reports", "Key": "2024/q1/summary.csv"}, None),
    ("s3", "PutObject", {"Bucket": "reports", "Key": "2024/q1/summary.csv", "Body": b""}, None),
    ("kms", "Encrypt", {"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Plaintext": b"x"}, None),
    ("sns", "Publish", {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts", "Message": "m"}, None),
]


def _round(service: str, operation: str, params: dict[str, Any], caller: str | None, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        requirements(service, operation, params, ACCOUNT, REGION, caller_name=caller)
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    """Print cold (first call) and warm (median µs per call) figures for each case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'operation':<32}{'cold ms':>10}{'warm µs':>10}{'min':>8}{'max':>8}  requirement")
    for service, operation, params, caller in CASES:
        start = time.process_time()
        needed = requirements(service, operation, params, ACCOUNT, REGION, caller_name=caller)
        cold = (time.process_time() - start) * 1e3
        rounds = [_round(service, operation, params, caller, args.calls) for _ in range(args.rounds)]
        label = f"{service}:{operation}" + (" (caller)" if caller else "")
        first = needed[0]
        print(
            f"{label:<32}{cold:>10.2f}{statistics.median(rounds):>10.2f}{min(rounds):>8.2f}{max(rounds):>8.2f}"
            f"  {first.action} on {', '.join(first.resources)}"
        )


if __name__ == "__main__":
    main()
