"""Keys with ids and rotation: sealing records (AES-256-GCM) and keyed digests.

What chatguard must keep but never in clear (placeholder values, the map from a
user pseudonym back to the channel identity) is sealed with a :class:`KeyRing`.
A sealed record names the key that sealed it, so the key can be rotated: the
current key seals everything new, previous keys still open what they sealed
until those records have expired (30 days by default), and can then be dropped.

Sealed record layout (all lengths in bytes)::

    version (1) = 0x01 | key id (4) | nonce (12) | AES-256-GCM ciphertext + tag (n + 16)

The version byte and key id are authenticated with the caller's associated data,
so a record cannot be moved to another context nor have its header altered.

Keys are configured as hex or base64 (standard or URL-safe, padding optional) of
at least 32 random bytes. A configured key is never used directly: HKDF-SHA256
derives one subkey per purpose (AES-256 key, digest key, pseudonym key), so a key
longer than 32 bytes is fine and no key serves two purposes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from chatguard.errors import ConfigurationError, DecryptionError

logger = logging.getLogger(__name__)

#: The fewest bytes a configured key may have.
MIN_KEY_BYTES = 32

SEAL_VERSION = 1
KEY_ID_BYTES = 4
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER_BYTES = 1 + KEY_ID_BYTES
_OVERHEAD = _HEADER_BYTES + NONCE_BYTES + TAG_BYTES

_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")

#: How to make a good key, for error messages and docs.
GENERATE_HINT = "`python -c 'import secrets; print(secrets.token_hex(32))'`"


def derive_subkey(key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one ``purpose``, derived from ``key`` with HKDF-SHA256.

    Different purposes give independent keys; the same key and purpose always
    give the same subkey.
    """
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"chatguard {purpose}".encode()
    ).derive(key)


class Key:
    """A configured key and its public id.

    ``id`` is 8 hex characters of SHA-256 over a fixed label and the key: it names
    the key in sealed records and in messages to operators, and reveals nothing
    usable about it. The key bytes never appear in ``repr`` or ``str``.
    """

    __slots__ = ("_material", "id")

    def __init__(self, material: bytes) -> None:
        if len(material) < MIN_KEY_BYTES:
            raise ValueError(f"a key has at least {MIN_KEY_BYTES} bytes")
        self._material = bytes(material)
        self.id = hashlib.sha256(b"chatguard key id\0" + self._material).hexdigest()[:8]

    @property
    def material(self) -> bytes:
        """The key bytes; derive a subkey from them, never log them."""
        return self._material

    @property
    def id_bytes(self) -> bytes:
        """``id`` as the 4 bytes written into sealed records."""
        return bytes.fromhex(self.id)

    def __repr__(self) -> str:
        return f"Key(id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        return hash(self.id)


class _SealingKey:
    """One key's AES-256-GCM cipher and digest key."""

    __slots__ = ("aead", "digest_key", "key")

    def __init__(self, key: Key) -> None:
        self.key = key
        self.aead = AESGCM(derive_subkey(key.material, "store encryption v1"))
        self.digest_key = derive_subkey(key.material, "store digest v1")

    def digest(self, data: bytes) -> str:
        return hmac.new(self.digest_key, data, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"_SealingKey(id={self.key.id!r})"


class KeyRing:
    """Seals and opens records with the current key; opens older records with previous keys.

    Promises:

    * ``open(seal(x, ad), ad) == x`` for the same associated data ``ad``, also after
      the key that sealed it has moved to ``previous``.
    * ``open`` raises :class:`~chatguard.errors.DecryptionError` (never returns
      wrong data) when the record was altered, the associated data differs, or no
      configured key has the record's key id. The message names at most the key id.
    * ``seal`` of the same plaintext twice gives different records (random nonce).

    Example::

        ring = KeyRing(new_key, previous=[old_key])
        sealed = ring.seal(b"messenger\\0123", b"identity\\0user-abc")
        ring.open(sealed, b"identity\\0user-abc")   # b"messenger\\0123"
    """

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = _SealingKey(Key(current))
        self._by_id: dict[bytes, _SealingKey] = {self._current.key.id_bytes: self._current}
        self._previous: list[_SealingKey] = []
        for material in previous:
            key = Key(material)
            known = self._by_id.get(key.id_bytes)
            if known is not None:
                if known.key != key:
                    raise ConfigurationError(
                        f"two different keys share the id {key.id}; generate a new key"
                    )
                continue  # the same key listed twice
            sealing = _SealingKey(key)
            self._by_id[key.id_bytes] = sealing
            self._previous.append(sealing)

    @property
    def current_id(self) -> str:
        """The id of the key that seals new records."""
        return self._current.key.id

    @property
    def key_ids(self) -> list[str]:
        """The ids of every key this ring can open with, current first."""
        return [self._current.key.id, *(s.key.id for s in self._previous)]

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """``plaintext`` encrypted and authenticated together with ``associated_data``
        (which is not stored: ``open`` needs the same bytes again)."""
        header = bytes([SEAL_VERSION]) + self._current.key.id_bytes
        nonce = os.urandom(NONCE_BYTES)
        return (
            header + nonce + self._current.aead.encrypt(nonce, plaintext, header + associated_data)
        )

    def open(self, sealed: bytes, associated_data: bytes) -> bytes:
        """The plaintext of a record sealed by this ring's current or a previous key."""
        if len(sealed) < _OVERHEAD:
            raise DecryptionError("sealed record is truncated")
        if sealed[0] != SEAL_VERSION:
            raise DecryptionError(f"sealed record has unknown format version {sealed[0]}")
        header = sealed[:_HEADER_BYTES]
        sealing = self._by_id.get(header[1:])
        if sealing is None:
            raise DecryptionError(
                f"sealed record names key id {header[1:].hex()}, which is not configured "
                "(keep a rotated key among the previous keys until its records expire)"
            )
        nonce = sealed[_HEADER_BYTES : _HEADER_BYTES + NONCE_BYTES]
        try:
            return sealing.aead.decrypt(
                nonce, sealed[_HEADER_BYTES + NONCE_BYTES :], header + associated_data
            )
        except InvalidTag:
            raise DecryptionError(
                "sealed record failed authentication: altered, or opened in the wrong context"
            ) from None

    def digest(self, data: bytes) -> str:
        """A keyed HMAC-SHA256 of ``data`` (64 hex characters) under the current key.

        Equal data gives equal digests, so a store can tell that a value was seen
        before without holding the value. The digest depends on the current key:
        after a rotation the same data gives a different digest. ``digests`` gives
        the digests under every key, for matching what was stored before a rotation.
        """
        return self._current.digest(data)

    def digests(self, data: bytes) -> list[str]:
        """``digest(data)`` under every key of the ring, the current key's first."""
        return [sealing.digest(data) for sealing in (self._current, *self._previous)]

    def __repr__(self) -> str:
        return f"KeyRing(current={self.current_id!r}, previous={self.key_ids[1:]!r})"


def decode_key(text: str, name: str) -> bytes:
    """The bytes of a key written as hex or base64 (standard or URL-safe, padding
    optional), at least 32 of them.

    Raises ``ConfigurationError`` naming the setting ``name`` (``store.encryption_key``)
    and never quoting the key.
    """
    text = text.strip()
    material: bytes | None = None
    if _HEX.match(text):
        material = bytes.fromhex(text)
    elif _BASE64.match(text):
        unpadded = text.rstrip("=")
        padded = unpadded + "=" * (-len(unpadded) % 4)
        try:
            material = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            material = None
    if material is None:
        raise ConfigurationError(f"{name}: not hex or base64 (generate one with {GENERATE_HINT})")
    if len(material) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"{name}: {len(material)} bytes, at least {MIN_KEY_BYTES} needed "
            f"(generate one with {GENERATE_HINT})"
        )
    return material


def load_key(secret: SecretStr | None, file: Path | None, name: str) -> bytes | None:
    """The key configured as ``secret`` (from the environment) or in ``file``, or
    ``None`` when neither is set.

    ``name`` is the setting (``store.encryption_key``); the file setting is
    ``name + "_file"``. Both set, an unreadable file, or a bad key raise
    ``ConfigurationError`` naming the setting, never quoting the key. A key file
    that others than its owner may read is accepted with a warning.
    """
    if secret is not None and file is not None:
        raise ConfigurationError(f"{name} and {name}_file are both set; set one")
    if secret is not None:
        return decode_key(secret.get_secret_value(), name)
    if file is None:
        return None
    try:
        text = file.read_text(encoding="ascii")
        mode = file.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"{name}_file: cannot read {file} ({type(exc).__name__})"
        ) from None
    if mode & 0o077:
        logger.warning("%s_file: %s is readable by other users than its owner", name, file)
    return decode_key(text, f"{name}_file")


def random_key() -> bytes:
    """A fresh random 32-byte key (demo mode and tests)."""
    return secrets.token_bytes(MIN_KEY_BYTES)
