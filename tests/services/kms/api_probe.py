"""Drives rampart.services.kms.api in a process of its own, against a test server's database.

S3 calls these functions inside its handlers; until S3 exists, the KMS tests
reach them through this script: it builds a Gateway on the server's data
directory (same database, same master key), and runs the steps it reads as
JSON on stdin, as the given caller. Running in a child process keeps the
gateway's global wiring out of the pytest process.

Step: {"as": "root" | user name, "account": id, "do": "generate" | "decrypt", "key_id": str | null,
       "context": {...}, "via": "s3.us-east-1.amazonaws.com", "blob_of": index of an earlier step}
Result: {"ok": bool, "error": code, "key_arn", "plaintext", "blob"} (bytes as base64).
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any

from rampart.accounts import root_principal
from rampart.aws.errors import AwsError
from rampart.config import Settings
from rampart.gateway import registry
from rampart.gateway.app import build_gateway
from rampart.gateway.call import Call
from rampart.services.iam.authz import user_principal
from rampart.services.kms import api


def _call(gateway: Any, step: dict[str, Any]) -> Call:
    call = Call(gateway, gateway.clock.now())
    call.service, call.operation, call.region = "s3", "PutObject", "us-east-1"
    call.caller.account_id = step["account"]
    if step["as"] == "root":
        call.caller.principal = root_principal(step["account"])
    else:
        with gateway.db.read() as conn:
            call.caller.principal = user_principal(conn, step["account"], step["as"])
    return call


def _run(gateway: Any, step: dict[str, Any], done: list[dict[str, Any]]) -> dict[str, Any]:
    call = _call(gateway, step)
    try:
        if step["do"] == "generate":
            key = api.generate_data_key_for(call, step.get("key_id"), step.get("context", {}), step["via"])
            return {"ok": True, "key_arn": key.key_arn, "plaintext": base64.b64encode(key.plaintext).decode(),
                    "blob": base64.b64encode(key.ciphertext_blob).decode()}
        blob = base64.b64decode(done[step["blob_of"]]["blob"])
        plain = api.decrypt_data_key_for(call, blob, step.get("context", {}), step["via"])
        return {"ok": True, "plaintext": base64.b64encode(plain).decode()}
    except AwsError as exc:
        return {"ok": False, "error": exc.code_for("json"), "message": exc.message}


def main() -> None:
    """Run the steps from stdin; print the results as one JSON list."""
    registry.load_services()
    gateway = build_gateway(Settings.from_env())
    done: list[dict[str, Any]] = []
    for step in json.load(sys.stdin):
        done.append(_run(gateway, step, done))
    print(json.dumps(done))


if __name__ == "__main__":
    main()
