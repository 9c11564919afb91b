"""The placeholder vault in the store: sealed values, stable placeholders across
restarts and key rotations, and the 30-day expiry, over a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from chatguard.clock import ManualClock
from chatguard.crypto import KeyRing
from chatguard.errors import DecryptionError
from chatguard.redact.engine import RedactionEngine
from chatguard.redact.redactor import Redactor
from chatguard.redact.vault import VaultEntry
from chatguard.settings import Settings
from chatguard.store.records import VaultRequest
from chatguard.store.sqlite import SqliteStore
from chatguard.store.vault import StoreVault, open_vault_value
from tests.on_disk import bytes_on_disk

KEY = bytes(range(32))
OLD_KEY = bytes(range(100, 132))
RETENTION = timedelta(days=30)
NAME = "Anna Müller"
EMAIL = "anna.mueller@example.com"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "chatguard.db"


@pytest_asyncio.fixture(loop_scope="function")
async def sqlite_store(database: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(f"sqlite:///{database}", clock)
    await store.open()
    yield store
    await store.close()


def vault_over(
    store: SqliteStore, clock: ManualClock, keyring: KeyRing | None = None
) -> StoreVault:
    return StoreVault(store, keyring or KeyRing(KEY), clock, RETENTION)


def person(value: str) -> VaultEntry:
    return VaultEntry("PERSON", value.lower(), value)


async def test_same_value_gets_the_same_placeholder_and_is_restored(
    sqlite_store: SqliteStore, clock: ManualClock
) -> None:
    vault = vault_over(sqlite_store, clock)
    first = await vault.assign("c1", [person(NAME), VaultEntry("EMAIL_ADDRESS", EMAIL, EMAIL)])
    assert first == ["<PERSON_1>", "<EMAIL_ADDRESS_1>"]
    again = await vault.assign("c1", [person("Karl Weber"), person(NAME.upper())])
    assert again == ["<PERSON_2>", "<PERSON_1>"]
    assert await vault.assign("c2", [person("Karl Weber")]) == ["<PERSON_1>"]
    assert await vault.lookup("c1", ["<PERSON_1>", "<PERSON_2>", "<PERSON_9>"]) == {
        "<PERSON_1>": NAME,
        "<PERSON_2>": "Karl Weber",
    }
    assert sorted((await vault.held("c1")).values()) == [
        ("EMAIL_ADDRESS", EMAIL),
        ("PERSON", NAME),
        ("PERSON", "Karl Weber"),
    ]
    assert await vault.lookup("c2", ["<PERSON_1>"]) == {"<PERSON_1>": "Karl Weber"}


async def test_vault_value_is_not_stored_in_clear(database: Path, clock: ManualClock) -> None:
    store = SqliteStore(f"sqlite:///{database}", clock)
    await store.open()
    vault = vault_over(store, clock)
    await vault.assign("c1", [person(NAME), VaultEntry("EMAIL_ADDRESS", EMAIL, EMAIL)])
    assert await vault.lookup("c1", ["<PERSON_1>"]) == {"<PERSON_1>": NAME}
    await store.close()

    held = bytes_on_disk(database)
    assert b"PERSON" in held  # the entries are in the file read (types are not secret)
    for value in (NAME, NAME.lower(), EMAIL, "Müller", "anna.mueller"):
        assert value.encode() not in held
        assert value.encode("utf-16-le") not in held


async def test_placeholders_stay_stable_after_a_restart(
    engine: RedactionEngine, database: Path, clock: ManualClock
) -> None:
    text = f"My name is {NAME}, write to {EMAIL}"

    async def one_process(message: str) -> tuple[str, str]:
        store = SqliteStore(f"sqlite:///{database}", clock)
        await store.open()
        redactor = Redactor(Settings(), engine=engine, vault=vault_over(store, clock))
        try:
            redacted = await redactor.redact(message, conversation="guest-k3x9q2m4va7d")
            reply = await redactor.restore(
                "Thank you <PERSON_1>, we wrote to <EMAIL_ADDRESS_1>",
                conversation="guest-k3x9q2m4va7d",
            )
            return redacted.text, reply
        finally:
            redactor.close()
            await store.close()

    before, _ = await one_process(text)
    assert NAME not in before and EMAIL not in before
    assert "<PERSON_1>" in before and "<EMAIL_ADDRESS_1>" in before

    clock.advance(timedelta(hours=2))
    after, reply = await one_process(f"Again: {EMAIL}, the booking is for {NAME}")
    assert after == "Again: <EMAIL_ADDRESS_1>, the booking is for <PERSON_1>"
    assert reply == f"Thank you {NAME}, we wrote to {EMAIL}"


async def test_placeholder_stays_stable_across_a_store_key_rotation(
    sqlite_store: SqliteStore, clock: ManualClock
) -> None:
    before_rotation = vault_over(sqlite_store, clock, KeyRing(OLD_KEY))
    assert await before_rotation.assign("c1", [person(NAME)]) == ["<PERSON_1>"]

    rotated = vault_over(sqlite_store, clock, KeyRing(KEY, previous=[OLD_KEY]))
    assert await rotated.assign("c1", [person("Karl Weber"), person(NAME)]) == [
        "<PERSON_2>",
        "<PERSON_1>",
    ]
    assert await rotated.lookup("c1", ["<PERSON_1>", "<PERSON_2>"]) == {
        "<PERSON_1>": NAME,
        "<PERSON_2>": "Karl Weber",
    }


async def test_values_sealed_with_a_dropped_key_are_refused(
    sqlite_store: SqliteStore, clock: ManualClock
) -> None:
    await vault_over(sqlite_store, clock, KeyRing(OLD_KEY)).assign("c1", [person(NAME)])
    with pytest.raises(DecryptionError, match="not configured") as refused:
        await vault_over(sqlite_store, clock).lookup("c1", ["<PERSON_1>"])
    assert NAME not in str(refused.value)


async def test_tampered_record_is_refused(sqlite_store: SqliteStore, clock: ManualClock) -> None:
    vault = vault_over(sqlite_store, clock)
    await vault.assign("guest-victim000000", [person(NAME)])
    await vault.assign("guest-other0000000", [person("Karl Weber")])
    [victim] = await sqlite_store.vault_entries("guest-victim000000")
    [other] = await sqlite_store.vault_entries("guest-other0000000")
    expires = clock.now() + RETENTION
    # Someone with write access to the store copies the victim's sealed value into
    # another conversation, and alters a byte of another sealed value.
    await sqlite_store.assign_placeholders(
        "guest-thief0000000", [VaultRequest("PERSON", victim.digest, victim.sealed_value)], expires
    )
    flipped = bytearray(other.sealed_value)
    flipped[-1] ^= 0x01
    await sqlite_store.assign_placeholders(
        "guest-other0000000", [VaultRequest("PERSON", "f" * 64, bytes(flipped))], expires
    )
    with pytest.raises(DecryptionError) as refused:
        await vault.lookup("guest-thief0000000", ["<PERSON_1>"])
    assert NAME not in str(refused.value)
    with pytest.raises(DecryptionError):
        await vault.held("guest-other0000000")
    assert open_vault_value(KeyRing(KEY), victim) == NAME


async def test_vault_keeps_values_29_days_and_drops_them_by_day_31(
    sqlite_store: SqliteStore, clock: ManualClock
) -> None:
    vault = vault_over(sqlite_store, clock)
    await vault.assign("c1", [person(NAME)])
    clock.advance(timedelta(days=29))
    assert await vault.lookup("c1", ["<PERSON_1>"]) == {"<PERSON_1>": NAME}
    clock.advance(timedelta(days=2))
    assert await vault.lookup("c1", ["<PERSON_1>"]) == {}
    assert await vault.held("c1") == {}


async def test_value_used_again_keeps_its_placeholder_for_another_30_days(
    sqlite_store: SqliteStore, clock: ManualClock
) -> None:
    vault = vault_over(sqlite_store, clock)
    await vault.assign("c1", [person(NAME)])
    clock.advance(timedelta(days=20))
    assert await vault.assign("c1", [person(NAME)]) == ["<PERSON_1>"]
    clock.advance(timedelta(days=20))
    assert await vault.lookup("c1", ["<PERSON_1>"]) == {"<PERSON_1>": NAME}


async def test_concurrent_turns_never_give_one_value_two_placeholders(
    sqlite_store: SqliteStore, clock: ManualClock
) -> None:
    vault = vault_over(sqlite_store, clock)
    names = [f"Person {letter}" for letter in "ABCDEFGH"]
    results = await asyncio.gather(
        *(vault.assign("c1", [person(name) for name in names[i:] + names[:i]]) for i in range(8))
    )
    by_name: dict[str, set[str]] = {name: set() for name in names}
    for i, placeholders in enumerate(results):
        for name, placeholder in zip(names[i:] + names[:i], placeholders, strict=True):
            by_name[name].add(placeholder)
    assert all(len(placeholders) == 1 for placeholders in by_name.values())
    assert {p for ps in by_name.values() for p in ps} == {f"<PERSON_{n}>" for n in range(1, 9)}


async def test_erasing_the_conversation_removes_its_vault(
    sqlite_store: SqliteStore, clock: ManualClock
) -> None:
    vault = vault_over(sqlite_store, clock)
    await vault.assign("c1", [person(NAME)])
    await sqlite_store.erase_session("c1")
    assert await vault.lookup("c1", ["<PERSON_1>"]) == {}
