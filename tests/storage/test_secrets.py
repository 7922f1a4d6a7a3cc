"""Secrets at rest: AES-256-GCM envelopes, master key sources, the key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.config import Settings
from rampart.secrets import (
    FORMAT_VERSION,
    HEADER_BYTES,
    KEY_FILE_NAME,
    DecryptionError,
    MasterKey,
    MasterKeyError,
    generate_key_text,
)

KEY = MasterKey(bytes(range(32)))


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes) -> None:
    sealed = KEY.encrypt(plaintext, aad)
    assert sealed[0] == FORMAT_VERSION and sealed[1:5] == KEY.key_id
    assert KEY.decrypt(sealed, aad) == plaintext


def test_same_plaintext_encrypts_differently() -> None:
    assert KEY.encrypt(b"secret", b"a") != KEY.encrypt(b"secret", b"a")


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_any_flipped_bit_is_detected(data: st.DataObject) -> None:
    sealed = bytearray(KEY.encrypt(b"the secret access key", b"row-1"))
    index = data.draw(st.integers(0, len(sealed) - 1))
    sealed[index] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(DecryptionError):
        KEY.decrypt(bytes(sealed), b"row-1")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1],  # truncated tag
        lambda c: c[:HEADER_BYTES],  # header only
        lambda c: b"",
        lambda c: bytes([99]) + c[1:],  # unknown format version
    ],
)
def test_malformed_ciphertexts_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DecryptionError):
        KEY.decrypt(mangle(KEY.encrypt(b"x", b"")), b"")


def test_wrong_aad_is_refused() -> None:
    """A ciphertext moved to another row does not decrypt there."""
    with pytest.raises(DecryptionError):
        KEY.decrypt(KEY.encrypt(b"x", b"row-1"), b"row-2")


def test_other_master_key_is_named_in_the_error() -> None:
    other = MasterKey(os.urandom(32))
    with pytest.raises(DecryptionError, match="another master key"):
        other.decrypt(KEY.encrypt(b"x", b""), b"")


def test_rotation_keeps_old_values_readable() -> None:
    old_value = KEY.encrypt(b"x", b"a")
    rotated = MasterKey(os.urandom(32), previous=[bytes(range(32))])
    assert rotated.decrypt(old_value, b"a") == b"x"
    assert rotated.needs_reencrypt(old_value)
    fresh = rotated.reencrypt(old_value, b"a")
    assert not rotated.needs_reencrypt(fresh) and rotated.decrypt(fresh, b"a") == b"x"


@pytest.mark.parametrize(
    "encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["standard", "urlsafe"]
)
def test_setting_with_base64_of_32_bytes_is_the_key_itself(encode) -> None:  # type: ignore[no-untyped-def]
    raw = bytes(range(32))
    from_setting = MasterKey.from_setting(encode(raw).decode())
    assert from_setting.key_id == KEY.key_id


def test_passphrase_is_stretched_deterministically() -> None:
    first = MasterKey.from_setting("correct horse battery staple")
    assert first.decrypt(
        MasterKey.from_setting("correct horse battery staple").encrypt(b"x", b""), b""
    ) == b"x"
    assert MasterKey.from_setting("another passphrase!").key_id != first.key_id


@pytest.mark.parametrize("value", ["", "short", "   "])
def test_too_short_passphrases_are_refused(value: str) -> None:
    with pytest.raises(MasterKeyError):
        MasterKey.from_setting(value)


def test_generated_key_text_is_accepted() -> None:
    assert MasterKey.from_setting(generate_key_text())


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = MasterKey.load(Settings(data_dir=data_dir))
    key_file = data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = MasterKey.load(Settings(data_dir=data_dir))
    assert again.key_id == first.key_id
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]  # no temp files left


def test_setting_wins_over_key_file(tmp_path: Path) -> None:
    text = generate_key_text()
    key = MasterKey.load(Settings(data_dir=tmp_path, master_key=text))
    assert key.key_id == MasterKey.from_setting(text).key_id
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("not a key\n")
    with pytest.raises(MasterKeyError, match="base64"):
        MasterKey.load(Settings(data_dir=tmp_path))
