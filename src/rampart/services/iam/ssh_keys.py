"""IAM users' SSH public keys (what CodeCommit accepts for Git over SSH).

Keys are ``iam_entities`` rows of kind ``ssh-public-key`` named by their
``APKA`` id, with data ``{"UserName", "Status", "Body", "Fingerprint"}``. A key
is an RSA key of 2048 to 16384 bits, given in OpenSSH (``ssh-rsa AAAA...``) or
PEM encoding, and parsed with ``cryptography``; GetSSHPublicKey converts it to
the encoding asked for. The fingerprint is the MD5 digest of the key's SSH wire
form written as colon-separated hex pairs, as IAM shows it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from rampart.gateway.call import Call
from rampart.gateway.registry import handler
from rampart.services.iam import store
from rampart.services.iam.certificates import (
    insert_owned,
    owned_by,
    random_id,
    settable_status,
)
from rampart.services.iam.errors import (
    DuplicateSSHPublicKey,
    InvalidPublicKey,
    LimitExceeded,
    NoSuchEntity,
    UnrecognizedPublicKeyEncoding,
)
from rampart.services.iam.users import Conn, calling_user_name, require_user

SSH_PUBLIC_KEY = "ssh-public-key"
KEYS_PER_USER = 5
MIN_BITS, MAX_BITS = 2048, 16384
_PEM_MARK = "-----BEGIN"


def parse_public_key(body: str) -> rsa.RSAPublicKey:
    """An RSA public key from OpenSSH or PEM (SubjectPublicKeyInfo or PKCS#1) text."""
    text = body.strip()
    if not (text.startswith(("ssh-", "ecdsa-")) or text.startswith(_PEM_MARK)):
        raise UnrecognizedPublicKeyEncoding("The public key encoding format is unsupported or unrecognized.")
    try:
        raw = text.encode("latin-1")
        key: PublicKeyTypes
        if text.startswith(_PEM_MARK):
            key = serialization.load_pem_public_key(raw)
        else:
            key = serialization.load_ssh_public_key(raw)
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise InvalidPublicKey("The public key is malformed or otherwise invalid.") from None
    if not isinstance(key, rsa.RSAPublicKey) or not MIN_BITS <= key.key_size <= MAX_BITS:
        raise InvalidPublicKey(f"The public key must be an RSA key of {MIN_BITS} to {MAX_BITS} bits.")
    return key


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """MD5 of the SSH wire form, as ``xx:xx:...`` (what ``ssh-keygen -E md5 -l`` prints)."""
    openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    digest = hashlib.md5(base64.b64decode(openssh.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def encoded(body: str, encoding: str) -> str:
    """The key in the asked encoding: as uploaded when that is the same, else converted."""
    is_pem = body.strip().startswith(_PEM_MARK)
    if (encoding == "PEM") == is_pem:
        return body
    key = parse_public_key(body)
    if encoding == "PEM":
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return pem.decode("ascii")
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")


def _require_key(conn: Conn, account_id: str, user_name: str, key_id: str) -> store.Entity:
    """The user's key, or NoSuchEntity (also for another user's key)."""
    for entity in owned_by(conn, account_id, SSH_PUBLIC_KEY, user_name):
        if entity.name == key_id:
            return entity
    raise NoSuchEntity(f"The Public Key with id {key_id} cannot be found.")


def _user(conn: Conn, account_id: str, name: str) -> str:
    return require_user(conn, account_id, name).name


def _output(entity: store.Entity, body: str | None = None) -> dict[str, Any]:
    """SSHPublicKey (with ``body``) or SSHPublicKeyMetadata (without)."""
    out: dict[str, Any] = {
        "UserName": entity.data["UserName"],
        "SSHPublicKeyId": entity.name,
        "Status": entity.data["Status"],
        "UploadDate": entity.created_at,
    }
    if body is not None:
        out["Fingerprint"] = entity.data["Fingerprint"]
        out["SSHPublicKeyBody"] = body
    return out


@handler("iam", "UploadSSHPublicKey")
def upload_ssh_public_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Add a key to a user (five at most), active at once."""
    account_id = call.account_id or ""
    print_ = fingerprint(parse_public_key(params["SSHPublicKeyBody"]))
    with call.gateway.db.session() as s:
        user = _user(s, account_id, params["UserName"])
        keys = owned_by(s, account_id, SSH_PUBLIC_KEY, user)
        if any(k.data.get("Fingerprint") == print_ for k in keys):
            raise DuplicateSSHPublicKey("The SSH public key is already associated with the specified IAM user.")
        if len(keys) >= KEYS_PER_USER:
            raise LimitExceeded(f"Cannot exceed quota for PublicKeysPerUser: {KEYS_PER_USER}")
        data = {"UserName": user, "Status": "Active", "Body": params["SSHPublicKeyBody"], "Fingerprint": print_}
        entity = insert_owned(s, call, SSH_PUBLIC_KEY, random_id("APKA", 20), data)
    return {"SSHPublicKey": _output(entity, entity.data["Body"])}


@handler("iam", "GetSSHPublicKey")
def get_ssh_public_key(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """One key in the encoding asked for (SSH or PEM)."""
    account_id = call.account_id or ""
    with call.gateway.db.read() as conn:
        entity = _require_key(conn, account_id, _user(conn, account_id, params["UserName"]), params["SSHPublicKeyId"])
    return {"SSHPublicKey": _output(entity, encoded(entity.data["Body"], params["Encoding"]))}


@handler("iam", "ListSSHPublicKeys")
def list_ssh_public_keys(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A user's keys (the caller's without UserName; root has none), oldest first."""
    account_id = call.account_id or ""
    name = calling_user_name(call, params)
    with call.gateway.db.read() as conn:
        keys = [] if name is None else owned_by(conn, account_id, SSH_PUBLIC_KEY, _user(conn, account_id, name))
    chunk, extra = store.page(keys, params, key=lambda e: f"{e.created_at.isoformat()}|{e.name}")
    return {"SSHPublicKeys": [_output(e) for e in chunk], **extra}


@handler("iam", "UpdateSSHPublicKey")
def update_ssh_public_key(call: Call, params: dict[str, Any]) -> None:
    """Activate or deactivate a key."""
    status = settable_status(params["Status"])
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        entity = _require_key(s, account_id, _user(s, account_id, params["UserName"]), params["SSHPublicKeyId"])
        store.update_entity(s, entity, data={**entity.data, "Status": status})


@handler("iam", "DeleteSSHPublicKey")
def delete_ssh_public_key(call: Call, params: dict[str, Any]) -> None:
    """Remove a key for good."""
    account_id = call.account_id or ""
    with call.gateway.db.session() as s:
        entity = _require_key(s, account_id, _user(s, account_id, params["UserName"]), params["SSHPublicKeyId"])
        store.delete_entity(s, entity)
