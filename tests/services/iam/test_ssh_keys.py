"""IAM SSH public keys through a real boto3 client."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.services.iam.helpers import error_of, unique


def rsa_key(bits: int = 2048) -> rsa.RSAPublicKey:
    """A fresh RSA public key."""
    return rsa.generate_private_key(65537, bits).public_key()


def openssh(key: Any, comment: str = "me@example") -> str:
    """The key as an authorized_keys line."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}"


def md5_fingerprint(key: Any) -> str:
    """What ``ssh-keygen -E md5 -l`` prints, without the prefix."""
    blob = base64.b64decode(openssh(key).split()[1])
    digest = hashlib.md5(blob).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def test_upload_get_convert_list_update_delete(iam: Any) -> None:
    user = unique("ssh")
    iam.create_user(UserName=user)
    key = rsa_key()
    body = openssh(key)
    uploaded = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]
    key_id = uploaded["SSHPublicKeyId"]
    assert key_id.startswith("APKA") and len(key_id) == 20
    assert uploaded["Fingerprint"] == md5_fingerprint(key) and uploaded["Status"] == "Active"
    assert uploaded["SSHPublicKeyBody"] == body and uploaded["UserName"] == user

    as_ssh = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert as_ssh["SSHPublicKeyBody"] == body
    as_pem = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]
    loaded = serialization.load_pem_public_key(as_pem["SSHPublicKeyBody"].encode())
    assert loaded.public_numbers() == key.public_numbers()

    pem_key = rsa_key()
    pem_body = pem_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    second = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=pem_body)["SSHPublicKey"]
    back = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=second["SSHPublicKeyId"], Encoding="SSH")
    assert back["SSHPublicKey"]["SSHPublicKeyBody"].split()[:2] == openssh(pem_key).split()[:2]

    listed = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
    assert [k["SSHPublicKeyId"] for k in listed] == [key_id, second["SSHPublicKeyId"]]
    assert "SSHPublicKeyBody" not in listed[0]

    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Status="Inactive")
    got = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["Status"] == "Inactive"

    with pytest.raises(ClientError) as excinfo:
        iam.delete_user(UserName=user)
    assert error_of(excinfo) == ("DeleteConflict", "Cannot delete entity, must remove referenced objects first.")
    for k in (key_id, second["SSHPublicKeyId"]):
        iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=k)
    with pytest.raises(ClientError) as excinfo:
        iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")
    assert error_of(excinfo) == ("NoSuchEntity", f"The Public Key with id {key_id} cannot be found.")
    iam.delete_user(UserName=user)


def test_bad_keys_duplicates_and_limit(iam: Any) -> None:
    user = unique("ssh")
    iam.create_user(UserName=user)
    cases = [
        ("hello world", "UnrecognizedPublicKeyEncoding"),
        ("ssh-rsa AAAAnotbase64!!", "InvalidPublicKey"),
        (openssh(rsa_key(1024)), "InvalidPublicKey"),
        (openssh(ed25519.Ed25519PrivateKey.generate().public_key()), "InvalidPublicKey"),
    ]
    for body, code in cases:
        with pytest.raises(ClientError) as excinfo:
            iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)
        assert error_of(excinfo)[0] == code, body
    bodies = [openssh(rsa_key()) for _ in range(5)]
    for body in bodies:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)
    with pytest.raises(ClientError) as excinfo:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=bodies[0])
    assert error_of(excinfo)[0] == "DuplicateSSHPublicKey"
    with pytest.raises(ClientError) as excinfo:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=openssh(rsa_key()))
    assert error_of(excinfo) == ("LimitExceeded", "Cannot exceed quota for PublicKeysPerUser: 5")
    with pytest.raises(ClientError) as excinfo:
        iam.upload_ssh_public_key(UserName="ghost-" + user, SSHPublicKeyBody=openssh(rsa_key()))
    assert error_of(excinfo)[0] == "NoSuchEntity"
    other = unique("ssh")
    iam.create_user(UserName=other)
    mine = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"][0]["SSHPublicKeyId"]
    with pytest.raises(ClientError) as excinfo:
        iam.delete_ssh_public_key(UserName=other, SSHPublicKeyId=mine)
    assert error_of(excinfo)[0] == "NoSuchEntity"


def test_keys_follow_a_renamed_user_and_block_its_deletion(iam: Any) -> None:
    old, new = unique("ssh-old"), unique("ssh-new")
    iam.create_user(UserName=old)
    key_id = iam.upload_ssh_public_key(UserName=old, SSHPublicKeyBody=openssh(rsa_key()))["SSHPublicKey"]["SSHPublicKeyId"]
    iam.update_user(UserName=old, NewUserName=new)
    assert [k["SSHPublicKeyId"] for k in iam.list_ssh_public_keys(UserName=new)["SSHPublicKeys"]] == [key_id]
    with pytest.raises(ClientError) as caught:
        iam.delete_user(UserName=new)
    assert error_of(caught)[0] == "DeleteConflict"
    iam.delete_ssh_public_key(UserName=new, SSHPublicKeyId=key_id)
    iam.delete_user(UserName=new)
