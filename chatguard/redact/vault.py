"""The placeholder vault: per conversation, which placeholder stands for which value.

The vault is what makes placeholders stable (``<PERSON_1>`` is the same person in
every turn) and what lets replies be restored for the user. It is a small
interface so that the store layer can back it with SQLite, Redis or PostgreSQL;
``InMemoryVault`` serves tests, the benchmark and embedded use without a store.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field


def format_placeholder(entity_type: str, number: int) -> str:
    """The placeholder text for the ``number``-th value of ``entity_type``: ``<PERSON_1>``."""
    return f"<{entity_type}_{number}>"


@dataclass(frozen=True, slots=True)
class VaultEntry:
    """One value to be given a placeholder.

    ``key`` is the value's normalised form (the same for "Anna Müller" and
    "anna müller"); it decides identity. ``value`` is what restoring writes back.
    """

    entity_type: str
    key: str
    value: str


class PlaceholderVault(ABC):
    """Storage of the placeholder ↔ value map of each conversation.

    Contract, for every implementation:

    * ``assign`` gives every entry a placeholder; an entry whose ``(entity_type,
      key)`` the conversation has seen before gets the same placeholder as before,
      a new one gets ``<TYPE_n>`` with ``n`` one more than the type's highest so far.
      Concurrent calls for one conversation never give one key two placeholders.
    * ``lookup`` returns the value for each placeholder the conversation knows;
      placeholders it does not know are absent from the result.
    * ``held`` maps each of the conversation's placeholders to its ``(entity type,
      value)``, so that a value redacted once is found again where its context word
      is missing, and the conversation's own placeholders are known as such.
    * Values leave the vault when they expire or the person's data is erased; that
      is the store's business (``chatguard.store``), not the vault interface's.

    Example::

        [p] = await vault.assign("conv-1", [VaultEntry("PERSON", "anna", "Anna")])
        assert p == "<PERSON_1>"
        assert await vault.lookup("conv-1", [p]) == {p: "Anna"}
    """

    @abstractmethod
    async def assign(self, conversation: str, entries: Sequence[VaultEntry]) -> list[str]:
        """Return one placeholder per entry, in order."""

    @abstractmethod
    async def lookup(self, conversation: str, placeholders: Collection[str]) -> dict[str, str]:
        """Return the value of each known placeholder."""

    @abstractmethod
    async def held(self, conversation: str) -> dict[str, tuple[str, str]]:
        """Every placeholder the conversation holds, with its ``(entity type, value)``."""


@dataclass
class _Conversation:
    by_key: dict[tuple[str, str], str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class InMemoryVault(PlaceholderVault):
    """A vault in this process's memory; gone when the process ends."""

    def __init__(self) -> None:
        self._conversations: dict[str, _Conversation] = {}

    async def assign(self, conversation: str, entries: Sequence[VaultEntry]) -> list[str]:
        """Return one placeholder per entry, reusing the conversation's earlier ones."""
        state = self._conversations.setdefault(conversation, _Conversation())
        async with state.lock:
            placeholders = []
            for entry in entries:
                placeholder = state.by_key.get((entry.entity_type, entry.key))
                if placeholder is None:
                    number = state.counters.get(entry.entity_type, 0) + 1
                    state.counters[entry.entity_type] = number
                    placeholder = format_placeholder(entry.entity_type, number)
                    state.by_key[(entry.entity_type, entry.key)] = placeholder
                    state.values[placeholder] = entry.value
                placeholders.append(placeholder)
            return placeholders

    async def lookup(self, conversation: str, placeholders: Collection[str]) -> dict[str, str]:
        """Return the value of each placeholder this conversation has assigned."""
        state = self._conversations.get(conversation)
        if state is None:
            return {}
        return {p: state.values[p] for p in placeholders if p in state.values}

    async def held(self, conversation: str) -> dict[str, tuple[str, str]]:
        """The conversation's placeholders with their types and values."""
        state = self._conversations.get(conversation)
        if state is None:
            return {}
        return {p: (entity_type, state.values[p]) for (entity_type, _), p in state.by_key.items()}
