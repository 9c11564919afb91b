"""The names vendors see instead of the person: session and channel-user pseudonyms.

The notice promises a web-chat user "an anonymised, session-based user name", and
a Messenger user a pseudonymised name by which chatguard "may recognise them
again" in later questions. So there are two kinds:

* A **session pseudonym** (``guest-`` and 12 base32 characters, 60 random bits from
  ``secrets``) names one conversation. Nothing links two of them, nor one to the
  person.
* A **user pseudonym** (``user-`` and 20 base32 characters, 100 bits of an
  HMAC-SHA256 of the channel and the channel's user id) is the same for the same
  person on the same channel every time, so the bot can keep context across
  conversations, while no vendor can compute or reverse it without the key.

Key rotation: the newest pseudonym key makes new user pseudonyms; older keys stay
configured (``pseudonym.previous_keys``) so that ``UserPseudonyms.candidates``
still finds what was made before the rotation, until that data has expired.
``load_keys`` builds the pseudonym and store keys from the settings and refuses
to start without them outside demo mode.

The way back, from a user pseudonym to the channel identity, is the
``IdentityMap``: kept only in chatguard's store, sealed (AES-256-GCM), with its own
expiry (``retention.identities``); it routes replies and finds a returning user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr

from chatguard.crypto import Key, KeyRing, decode_key, derive_subkey, load_key, random_key
from chatguard.errors import ConfigurationError
from chatguard.settings import Settings
from chatguard.store.base import Store
from chatguard.store.records import Identity

logger = logging.getLogger(__name__)

SESSION_PREFIX = "guest-"
USER_PREFIX = "user-"
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_SESSION_CHARS = 12
_USER_CHARS = 20


def new_session_pseudonym() -> str:
    """A fresh session pseudonym such as ``guest-k3x9q2m4va7d``: random, unlinkable."""
    return SESSION_PREFIX + "".join(secrets.choice(_BASE32) for _ in range(_SESSION_CHARS))


class UserPseudonyms:
    """Channel-user pseudonyms under rotating keys.

    Promises: ``pseudonym(channel, user_id)`` is the same for the same arguments
    and newest key, different for any other channel or user id (up to the 100-bit
    HMAC truncation), and not computable without the key. ``candidates`` lists the
    pseudonyms the same person had under every configured key, newest first, so
    look-ups find pseudonyms made before a rotation. Channel and user id are taken
    exactly as given (no case folding).

    Example::

        names = UserPseudonyms([new_key, old_key])
        names.pseudonym("messenger", "2415...")    # 'user-...' under new_key
        names.candidates("messenger", "2415...")   # [that, the one under old_key]
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("UserPseudonyms needs at least one key")
        self._keys: list[tuple[Key, bytes]] = []
        for material in keys:
            key = Key(material)
            if all(key != known for known, _ in self._keys):
                self._keys.append((key, derive_subkey(material, "user pseudonym v1")))

    @property
    def key_ids(self) -> list[str]:
        """The ids of the keys, newest first; the first makes new pseudonyms."""
        return [key.id for key, _ in self._keys]

    def pseudonym(self, channel: str, user_id: str) -> str:
        """The user pseudonym of ``user_id`` on ``channel`` under the newest key."""
        return self._pseudonym(self._keys[0][1], channel, user_id)

    def candidates(self, channel: str, user_id: str) -> list[str]:
        """The user pseudonym under every key, newest first."""
        return [self._pseudonym(subkey, channel, user_id) for _, subkey in self._keys]

    @staticmethod
    def _pseudonym(subkey: bytes, channel: str, user_id: str) -> str:
        channel_bytes = channel.encode()
        # The length prefix keeps ("ab", "c") and ("a", "bc") apart.
        message = len(channel_bytes).to_bytes(4, "big") + channel_bytes + user_id.encode()
        mac = hmac.new(subkey, message, hashlib.sha256).digest()
        return USER_PREFIX + base64.b32encode(mac).decode("ascii").lower()[:_USER_CHARS]

    def __repr__(self) -> str:
        return f"UserPseudonyms(key_ids={self.key_ids!r})"


@dataclass(frozen=True, slots=True)
class Keys:
    """The keys chatguard runs with: ``store`` seals records, ``pseudonyms`` names
    users. ``ephemeral`` is true when demo mode made them up (lost at exit)."""

    store: KeyRing
    pseudonyms: UserPseudonyms
    ephemeral: bool = False


def load_keys(settings: Settings) -> Keys:
    """The store key ring and user pseudonyms the settings configure.

    Outside demo mode, a missing key raises ``ConfigurationError`` naming the
    environment variable to set. In demo mode (``pseudonym.demo``) a missing key
    is replaced by a random one and a warning says so: pseudonyms and sealed
    records then do not survive a restart. Previous keys without a current key,
    and one key used for both purposes, are refused.
    """
    store_settings, pseudonym_settings = settings.store, settings.pseudonym
    store_key = load_key(
        store_settings.encryption_key, store_settings.encryption_key_file, "store.encryption_key"
    )
    pseudonym_key = load_key(pseudonym_settings.key, pseudonym_settings.key_file, "pseudonym.key")
    previous_store = _previous(
        store_settings.previous_encryption_keys, "store.previous_encryption_keys"
    )
    previous_pseudonym = _previous(pseudonym_settings.previous_keys, "pseudonym.previous_keys")

    missing = [
        variable
        for variable, key in (
            ("CHATGUARD_PSEUDONYM__KEY", pseudonym_key),
            ("CHATGUARD_STORE__ENCRYPTION_KEY", store_key),
        )
        if key is None
    ]
    if missing and not pseudonym_settings.demo:
        raise ConfigurationError(
            f"no key configured: set {' and '.join(missing)} (or the matching *_FILE "
            "setting); only demo mode (CHATGUARD_PSEUDONYM__DEMO=true) runs without keys"
        )
    if store_key is None and previous_store:
        raise ConfigurationError("store.previous_encryption_keys set without store.encryption_key")
    if pseudonym_key is None and previous_pseudonym:
        raise ConfigurationError("pseudonym.previous_keys set without pseudonym.key")
    if store_key is not None and store_key == pseudonym_key:
        raise ConfigurationError(
            "pseudonym.key and store.encryption_key are the same key; use two different keys"
        )
    if missing:
        logger.warning(
            "demo mode: made ephemeral random keys (none configured for %s); pseudonyms "
            "and sealed records will not survive a restart",
            ", ".join(missing),
        )
    return Keys(
        store=KeyRing(store_key or random_key(), previous_store),
        pseudonyms=UserPseudonyms([pseudonym_key or random_key(), *previous_pseudonym]),
        ephemeral=bool(missing),
    )


def _previous(keys: Sequence[SecretStr], name: str) -> list[bytes]:
    return [
        decode_key(key.get_secret_value(), f"{name}[{index}]") for index, key in enumerate(keys)
    ]


_SEPARATOR = "\0"


class IdentityMap:
    """Channel identities behind user pseudonyms, sealed in a store.

    Promises:

    * ``remember`` returns the user's pseudonym under the newest pseudonym key and
      stores the sealed ``(channel, user id)`` under it until ``expires_at``
      (remembering again moves the expiry and re-seals with the current store key).
    * ``resolve`` gives back exactly what was remembered, or ``None`` when nothing
      (or only an expired record) is held. A record that was altered, or copied
      to another pseudonym, raises :class:`~chatguard.errors.DecryptionError`.
    * ``find`` finds the user's pseudonym also when it was made under a previous
      pseudonym key; ``find_all`` lists every such pseudonym under which an
      identity or consent record is held (for access, erasure and consent requests).

    Example::

        user = await identities.remember("messenger", psid, expires_at)
        await identities.resolve(user)          # ("messenger", psid)
        await identities.find("messenger", psid)  # user
    """

    def __init__(self, store: Store, keyring: KeyRing, pseudonyms: UserPseudonyms) -> None:
        self._store = store
        self._keyring = keyring
        self._pseudonyms = pseudonyms

    async def remember(self, channel: str, user_id: str, expires_at: datetime) -> str:
        """Store the identity under the user's newest pseudonym and return that pseudonym."""
        if _SEPARATOR in channel:
            raise ValueError("a channel name cannot contain a NUL character")
        user = self._pseudonyms.pseudonym(channel, user_id)
        sealed = self._keyring.seal(
            f"{channel}{_SEPARATOR}{user_id}".encode(), _associated_data(user)
        )
        await self._store.save_identity(Identity(user, sealed, expires_at))
        return user

    async def resolve(self, user: str) -> tuple[str, str] | None:
        """The ``(channel, user id)`` behind the pseudonym ``user``, or ``None``."""
        identity = await self._store.get_identity(user)
        if identity is None:
            return None
        plain = self._keyring.open(identity.sealed_identity, _associated_data(user)).decode()
        channel, _, user_id = plain.partition(_SEPARATOR)
        return channel, user_id

    async def find(self, channel: str, user_id: str) -> str | None:
        """The user's pseudonym that has a record, trying the newest key first, or ``None``."""
        for user in self._pseudonyms.candidates(channel, user_id):
            if await self._store.get_identity(user) is not None:
                return user
        return None

    async def find_all(self, channel: str, user_id: str) -> list[str]:
        """Every pseudonym of the user (one per key) under which anything is held,
        newest key first: the identity record, or consent records, which are kept as
        proof after the identity has expired (a push opt-in holds, and can be
        withdrawn, after 30 days without a message)."""
        return [
            user
            for user in self._pseudonyms.candidates(channel, user_id)
            if await self._store.get_identity(user) is not None or await self._store.consents(user)
        ]


def _associated_data(user: str) -> bytes:
    # Binds the sealed identity to its pseudonym: a record copied to another one fails.
    return b"chatguard identity\0" + user.encode()
