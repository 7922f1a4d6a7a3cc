"""Secrets at rest: the server's master key and AES-256-GCM envelopes.

Secret access keys (and, later, other secrets such as MFA seeds and KMS key
material) are stored only as ciphertexts made here. The master key comes from
``RAMPART_MASTER_KEY`` or, when that is unset, from ``<data_dir>/master.key``,
created on first start with mode 0600.

``RAMPART_MASTER_KEY`` may be either
  * the standard or URL-safe base64 of exactly 32 random bytes, used as is
    (``rampart.secrets.generate_key_text()`` or ``openssl rand -base64 32``), or
  * any other string of at least 8 characters, taken as a passphrase and
    stretched with PBKDF2-HMAC-SHA256 (600,000 iterations, a fixed salt so
    that every process and every restart derives the same key).

Ciphertext layout (all ciphertexts are self-describing so keys can rotate)::

    version (1 byte, =1) | key id (4 bytes) | nonce (12 bytes) | AES-GCM ciphertext+tag

The version byte and key id are authenticated along with the caller's AAD. The
key id names which master key encrypted a value: ``MasterKey(new, previous=[old])``
decrypts both while encrypting with ``new``.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets as _random
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

if TYPE_CHECKING:
    from rampart.config import Settings

FORMAT_VERSION = 1
KEY_BYTES = 32
KEY_ID_BYTES = 4
NONCE_BYTES = 12
HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES
KEY_FILE_NAME = "master.key"
PBKDF2_ITERATIONS = 600_000
PBKDF2_SALT = b"rampart/master-key/pbkdf2/v1"
MIN_PASSPHRASE_CHARS = 8


class MasterKeyError(ValueError):
    """The master key setting or key file is unusable (a start-up error)."""


class DecryptionError(Exception):
    """A ciphertext was tampered with, truncated, or made with an unknown key."""


def _hkdf(key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(key)


class _DataKey:
    """One master key's derived AES key and its public id."""

    def __init__(self, master: bytes) -> None:
        if len(master) != KEY_BYTES:
            raise MasterKeyError(f"a master key is {KEY_BYTES} bytes, got {len(master)}")
        self.key_id = _hkdf(master, b"rampart/key-id/v1", KEY_ID_BYTES)
        self.aead = AESGCM(_hkdf(master, b"rampart/aes-256-gcm/v1", KEY_BYTES))


class MasterKey:
    """Encrypts and decrypts secrets stored in the database.

    Pass ``previous`` master keys during a rotation: values they encrypted stay
    readable (``reencrypt`` moves them to the current key).
    """

    def __init__(self, key: bytes, *, previous: Iterable[bytes] = ()) -> None:
        self._current = _DataKey(key)
        self._by_id = {k.key_id: k for k in (_DataKey(p) for p in previous)}
        self._by_id[self._current.key_id] = self._current

    @property
    def key_id(self) -> bytes:
        """Identifies the current key inside ciphertexts (not secret)."""
        return self._current.key_id

    @classmethod
    def from_setting(cls, value: str) -> MasterKey:
        """Parse ``RAMPART_MASTER_KEY``: base64 of 32 bytes, else a passphrase."""
        value = value.strip()
        raw = _decode_base64_key(value)
        if raw is not None:
            return cls(raw)
        if len(value) < MIN_PASSPHRASE_CHARS:
            raise MasterKeyError(
                f"RAMPART_MASTER_KEY must be base64 of {KEY_BYTES} bytes "
                f"or a passphrase of at least {MIN_PASSPHRASE_CHARS} characters"
            )
        return cls(derive_from_passphrase(value))

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        """Read the key file, creating it (mode 0600) if it does not exist yet."""
        return cls(load_or_create_key_file(path))

    @classmethod
    def load(cls, settings: Settings) -> MasterKey:
        """The key a server uses: ``settings.master_key`` if set, else the data dir's key file."""
        if settings.master_key:
            return cls.from_setting(settings.master_key)
        return cls.from_file(Path(settings.data_dir) / KEY_FILE_NAME)

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        """Seal ``plaintext``; ``aad`` binds it to its row (e.g. the access key id)."""
        header = bytes([FORMAT_VERSION]) + self._current.key_id
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._current.aead.encrypt(nonce, plaintext, header + aad)

    def decrypt(self, ciphertext: bytes, aad: bytes) -> bytes:
        """Open a value made by ``encrypt`` with the same ``aad``, or raise DecryptionError."""
        if len(ciphertext) < HEADER_BYTES + 16 or ciphertext[0] != FORMAT_VERSION:
            raise DecryptionError("not a Rampart ciphertext (bad length or version)")
        key_id = ciphertext[1 : 1 + KEY_ID_BYTES]
        data_key = self._by_id.get(key_id)
        if data_key is None:
            raise DecryptionError(
                f"encrypted with another master key (id {key_id.hex()}); "
                "is RAMPART_MASTER_KEY or master.key the one this database was made with?"
            )
        nonce = ciphertext[1 + KEY_ID_BYTES : HEADER_BYTES]
        header = ciphertext[: 1 + KEY_ID_BYTES]
        try:
            return data_key.aead.decrypt(nonce, ciphertext[HEADER_BYTES:], header + aad)
        except InvalidTag as error:
            raise DecryptionError("ciphertext failed authentication") from error

    def needs_reencrypt(self, ciphertext: bytes) -> bool:
        """True when a value was made with an older key (or format) than the current one."""
        return ciphertext[: 1 + KEY_ID_BYTES] != bytes([FORMAT_VERSION]) + self._current.key_id

    def reencrypt(self, ciphertext: bytes, aad: bytes) -> bytes:
        """The same plaintext sealed with the current key (for key rotation)."""
        return self.encrypt(self.decrypt(ciphertext, aad), aad)


def derive_from_passphrase(passphrase: str) -> bytes:
    """Stretch a passphrase into a 32-byte key, identically in every process."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=PBKDF2_SALT, iterations=PBKDF2_ITERATIONS
    )
    return kdf.derive(passphrase.encode("utf-8"))


def generate_key_text() -> str:
    """A fresh random master key in the base64 form ``RAMPART_MASTER_KEY`` accepts."""
    return base64.b64encode(_random.token_bytes(KEY_BYTES)).decode("ascii")


def _decode_base64_key(value: str) -> bytes | None:
    """The 32 bytes ``value`` encodes in base64 (standard or URL-safe), else None."""
    try:
        data = value.encode("ascii")
    except UnicodeEncodeError:
        return None
    for altchars in (b"+/", b"-_"):
        try:
            raw = base64.b64decode(data, altchars=altchars, validate=True)
        except binascii.Error:
            continue
        if len(raw) == KEY_BYTES:
            return raw
    return None


def load_or_create_key_file(path: Path) -> bytes:
    """The key stored at ``path``; made atomically on first use.

    Several worker processes may start at once: each writes a private temp file
    and hard-links it into place, so exactly one wins and nobody ever reads a
    half-written key.
    """
    if not path.exists():
        _create_key_file(path)
    try:
        raw = _decode_base64_key(path.read_text("ascii").strip())
    except (OSError, UnicodeDecodeError) as error:
        raise MasterKeyError(f"cannot read master key file {path}: {error}") from error
    if raw is None:
        raise MasterKeyError(f"{path} does not hold base64 of {KEY_BYTES} bytes")
    return raw


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{_random.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (generate_key_text() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass  # another process won the race; its key is the key
    finally:
        temp.unlink()
