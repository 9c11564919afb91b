"""The placeholder vault kept in the store: stable across restarts and processes, sealed.

``StoreVault`` is the :class:`~chatguard.redact.vault.PlaceholderVault` that the
``Redactor`` uses in production. The store sees, per conversation, the placeholder,
the entity type, a keyed digest of the value's normalised form (so the same value
gets the same placeholder without the store seeing it) and the value sealed with
AES-256-GCM; never the value in clear.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta

from chatguard.clock import Clock
from chatguard.crypto import KeyRing
from chatguard.redact.vault import PlaceholderVault, VaultEntry
from chatguard.store.base import Store
from chatguard.store.records import VaultEntry as StoredVaultEntry
from chatguard.store.records import VaultRequest


class StoreVault(PlaceholderVault):
    """Placeholders of each conversation in a :class:`~chatguard.store.base.Store`.

    Promises, beyond the ``PlaceholderVault`` contract:

    * Two vaults over the same store (two processes, or one after a restart) give
      a value the same placeholder in a conversation and restore the same values.
    * Every entry expires ``retention`` after the last time its value was assigned
      (``retention.vault``, 30 days by default); expired entries are neither looked
      up nor reused, and the store's sweeper deletes them.
    * A value is identified by ``keyring.digest`` of its type and normalised form.
      After a store key rotation the digest changes; entries made before it are
      still matched through the previous keys' digests, so a placeholder stays
      stable across the rotation.
    * A sealed value is bound to its conversation, type and digest: one altered or
      moved to another entry raises :class:`~chatguard.errors.DecryptionError`.

    A conversation's entries leave the store when they expire or when the person's
    data is erased (``Store.erase_session`` / ``erase_user``).
    """

    def __init__(self, store: Store, keyring: KeyRing, clock: Clock, retention: timedelta) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._retention = retention

    async def assign(self, conversation: str, entries: Sequence[VaultEntry]) -> list[str]:
        """Return one placeholder per entry, in order, reusing the conversation's
        earlier ones; each entry's expiry moves to ``retention`` from now."""
        if not entries:
            return []
        earlier: set[tuple[str, str]] = set()
        if len(self._keyring.key_ids) > 1:
            # Digests made before a key rotation differ from today's: find them.
            earlier = {
                (e.entity_type, e.digest) for e in await self._store.vault_entries(conversation)
            }
        requests = []
        for entry in entries:
            digests = self._keyring.digests(_identity(entry))
            digest = next((d for d in digests if (entry.entity_type, d) in earlier), digests[0])
            sealed = self._keyring.seal(
                entry.value.encode(), _associated_data(conversation, entry.entity_type, digest)
            )
            requests.append(VaultRequest(entry.entity_type, digest, sealed))
        expires_at = self._clock.now() + self._retention
        return await self._store.assign_placeholders(conversation, requests, expires_at)

    async def lookup(self, conversation: str, placeholders: Collection[str]) -> dict[str, str]:
        """Return the value of each placeholder the conversation holds."""
        if not placeholders:
            return {}
        stored = await self._store.vault_entries(conversation, placeholders)
        return {entry.placeholder: open_vault_value(self._keyring, entry) for entry in stored}

    async def held(self, conversation: str) -> dict[str, tuple[str, str]]:
        """Every placeholder the conversation holds, with its type and value."""
        stored = await self._store.vault_entries(conversation)
        return {
            entry.placeholder: (entry.entity_type, open_vault_value(self._keyring, entry))
            for entry in stored
        }


def open_vault_value(keyring: KeyRing, entry: StoredVaultEntry) -> str:
    """The value a stored vault entry holds, as ``StoreVault`` sealed it.

    Raises :class:`~chatguard.errors.DecryptionError` when the entry was altered,
    moved to another conversation or entry, or sealed with a key no longer
    configured.
    """
    associated = _associated_data(entry.session, entry.entity_type, entry.digest)
    return keyring.open(entry.sealed_value, associated).decode()


def _identity(entry: VaultEntry) -> bytes:
    """What the digest is taken of: the type and the normalised value."""
    return f"{entry.entity_type}\0{entry.key}".encode()


def _associated_data(session: str, entity_type: str, digest: str) -> bytes:
    # The placeholder is not known before the store assigns it; the digest names the
    # entry within the conversation just as well.
    return f"chatguard vault\0{session}\0{entity_type}\0{digest}".encode()
