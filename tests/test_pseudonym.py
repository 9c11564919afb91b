"""Session and user pseudonyms, the identity map behind them, and the keys they need.

The notice: a web-chat user gets "an anonymised, session-based user name"; a
Messenger user gets a pseudonymised name by which the assistant may "identify
them again" in later questions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from chatguard.clock import ManualClock
from chatguard.crypto import KeyRing, random_key
from chatguard.errors import ConfigurationError, DecryptionError
from chatguard.pseudonym import IdentityMap, UserPseudonyms, load_keys, new_session_pseudonym
from chatguard.settings import load_settings
from chatguard.store.records import Identity
from chatguard.store.sqlite import SqliteStore
from tests.on_disk import bytes_on_disk

PSID = "24150017713590201"
STORE_KEY = bytes(range(32))
PSEUDONYM_KEY = bytes(range(50, 82))
OLD_PSEUDONYM_KEY = bytes(range(150, 182))
KEY_VARIABLES = (
    "CHATGUARD_STORE__ENCRYPTION_KEY",
    "CHATGUARD_STORE__ENCRYPTION_KEY_FILE",
    "CHATGUARD_STORE__PREVIOUS_ENCRYPTION_KEYS",
    "CHATGUARD_PSEUDONYM__KEY",
    "CHATGUARD_PSEUDONYM__KEY_FILE",
    "CHATGUARD_PSEUDONYM__PREVIOUS_KEYS",
    "CHATGUARD_PSEUDONYM__DEMO",
)


@pytest.fixture(autouse=True)
def no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in KEY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest_asyncio.fixture(loop_scope="function")
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(f"sqlite:///{tmp_path / 'chatguard.db'}", clock)
    await opened.open()
    yield opened
    await opened.close()


def identities(store: SqliteStore, *pseudonym_keys: bytes) -> IdentityMap:
    return IdentityMap(
        store, KeyRing(STORE_KEY), UserPseudonyms(list(pseudonym_keys or [PSEUDONYM_KEY]))
    )


# --- session pseudonyms --------------------------------------------------------------


def test_web_user_gets_an_unlinkable_session_name() -> None:
    names = [new_session_pseudonym() for _ in range(2000)]
    assert all(re.fullmatch(r"guest-[a-z2-7]{12}", name) for name in names)
    assert len(set(names)) == len(names)
    # Random, not derived from anything: every character position takes many values.
    for position in range(6, 18):
        assert len({name[position] for name in names}) > 20


# --- user pseudonyms -----------------------------------------------------------------


def test_messenger_user_gets_the_same_pseudonym_every_time_and_no_one_else_gets_it() -> None:
    names = UserPseudonyms([PSEUDONYM_KEY])
    user = names.pseudonym("messenger", PSID)
    assert re.fullmatch(r"user-[a-z2-7]{20}", user)
    assert user == UserPseudonyms([PSEUDONYM_KEY]).pseudonym("messenger", PSID)
    assert PSID not in user
    assert user != names.pseudonym("messenger", PSID + "1")
    assert user != names.pseudonym("web", PSID)
    assert names.pseudonym("ab", "c") != names.pseudonym("a", "bc")
    assert user != UserPseudonyms([random_key()]).pseudonym("messenger", PSID)


def test_user_pseudonyms_show_key_ids_only() -> None:
    names = UserPseudonyms([PSEUDONYM_KEY, OLD_PSEUDONYM_KEY])
    assert len(names.key_ids) == 2
    assert PSEUDONYM_KEY.hex()[:8] not in repr(names)
    assert names.key_ids[0] in repr(names)


async def test_messenger_user_is_recognised_again_in_a_later_conversation(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite:///{tmp_path / 'chatguard.db'}"
    first_process = SqliteStore(url, clock)
    await first_process.open()
    user = await identities(first_process).remember(
        "messenger", PSID, clock.now() + timedelta(days=30)
    )
    await first_process.close()

    clock.advance(timedelta(days=3))
    later_process = SqliteStore(url, clock)
    await later_process.open()
    try:
        later = identities(later_process)
        assert await later.find("messenger", PSID) == user
        assert await later.find("messenger", "someone-else") is None
        assert await later.find("web", PSID) is None
    finally:
        await later_process.close()


async def test_reply_to_a_pseudonym_is_routed_back_to_the_channel_identity(
    store: SqliteStore, clock: ManualClock
) -> None:
    mapping = identities(store)
    user = await mapping.remember("messenger", PSID, clock.now() + timedelta(days=30))
    assert await mapping.resolve(user) == ("messenger", PSID)
    assert await mapping.resolve("user-aaaaaaaaaaaaaaaaaaaa") is None


async def test_pseudonym_made_before_key_rotation_is_still_found(
    store: SqliteStore, clock: ManualClock
) -> None:
    expires = clock.now() + timedelta(days=30)
    before = await identities(store, OLD_PSEUDONYM_KEY).remember("messenger", PSID, expires)

    rotated = identities(store, PSEUDONYM_KEY, OLD_PSEUDONYM_KEY)
    assert await rotated.find("messenger", PSID) == before
    assert await rotated.resolve(before) == ("messenger", PSID)

    after = await rotated.remember("messenger", PSID, expires)
    assert after != before  # the newest key makes new pseudonyms
    assert await rotated.find("messenger", PSID) == after
    assert await rotated.find_all("messenger", PSID) == [after, before]


async def test_identity_map_holds_no_channel_id_in_clear(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "chatguard.db"
    store = SqliteStore(f"sqlite:///{path}", clock)
    await store.open()
    await identities(store).remember("messenger", PSID, clock.now() + timedelta(days=30))
    await store.close()
    assert PSID.encode() not in bytes_on_disk(path)


async def test_tampered_record_is_refused(store: SqliteStore, clock: ManualClock) -> None:
    mapping = identities(store)
    expires = clock.now() + timedelta(days=30)
    victim = await mapping.remember("messenger", PSID, expires)
    attacker = await mapping.remember("messenger", "1000000000000001", expires)
    # Someone with write access to the store points the attacker's pseudonym at the
    # victim's sealed identity, to receive the victim's replies.
    stolen = await store.get_identity(victim)
    assert stolen is not None
    await store.save_identity(Identity(attacker, stolen.sealed_identity, expires))
    with pytest.raises(DecryptionError) as refused:
        await mapping.resolve(attacker)
    assert PSID not in str(refused.value)


async def test_identity_is_forgotten_when_it_expires(
    store: SqliteStore, clock: ManualClock
) -> None:
    mapping = identities(store)
    user = await mapping.remember("messenger", PSID, clock.now() + timedelta(days=30))
    clock.advance(timedelta(days=29))
    assert await mapping.resolve(user) == ("messenger", PSID)
    clock.advance(timedelta(days=2))
    assert await mapping.resolve(user) is None
    assert await mapping.find("messenger", PSID) is None


# --- keys at start-up ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "setting", "instead"),
    [
        (
            f'[store]\nencryption_key = "{STORE_KEY.hex()}"\n',
            "store.encryption_key",
            "CHATGUARD_STORE__ENCRYPTION_KEY",
        ),
        (
            f'[store]\nprevious_encryption_keys = ["{STORE_KEY.hex()}"]\n',
            "store.previous_encryption_keys",
            "CHATGUARD_STORE__PREVIOUS_ENCRYPTION_KEYS",
        ),
        (f'[pseudonym]\nkey = "{PSEUDONYM_KEY.hex()}"\n', "pseudonym.key", "pseudonym.key_file"),
        (
            f'[pseudonym]\nprevious_keys = ["{PSEUDONYM_KEY.hex()}"]\n',
            "pseudonym.previous_keys",
            "CHATGUARD_PSEUDONYM__PREVIOUS_KEYS",
        ),
        ('[redaction]\nhash_key = "a salt of sixteen bytes"\n', "redaction.hash_key", "ENV"),
        (
            '[vendors.openai]\napi_key = "sk-test-not-a-real-key"\n',
            "vendors.openai.api_key",
            "CHATGUARD_VENDORS__OPENAI__API_KEY",
        ),
        (
            '[vendors.translator]\nkey = "not-a-real-translator-key"\n',
            "vendors.translator.key",
            "CHATGUARD_VENDORS__TRANSLATOR__KEY",
        ),
    ],
)
def test_key_in_config_file_is_refused(
    tmp_path: Path, toml: str, setting: str, instead: str
) -> None:
    config = tmp_path / "chatguard.toml"
    config.write_text(toml)
    with pytest.raises(ConfigurationError, match=re.escape(setting)) as refused:
        load_settings(config)
    message = str(refused.value)
    assert "never goes in the configuration file" in message
    assert instead.replace("ENV", "CHATGUARD_REDACTION__HASH_KEY") in message
    assert STORE_KEY.hex() not in message and PSEUDONYM_KEY.hex() not in message


def test_key_file_named_in_the_config_file_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_key, pseudonym_key = tmp_path / "store.key", tmp_path / "pseudonym.key"
    store_key.write_text(STORE_KEY.hex())
    pseudonym_key.write_text(PSEUDONYM_KEY.hex())
    for file in (store_key, pseudonym_key):
        file.chmod(0o600)
    config = tmp_path / "chatguard.toml"
    config.write_text(
        f'[store]\nencryption_key_file = "{store_key}"\n[pseudonym]\nkey_file = "{pseudonym_key}"\n'
    )
    keys = load_keys(load_settings(config))
    assert keys.store.current_id == KeyRing(STORE_KEY).current_id
    assert keys.pseudonyms.pseudonym("messenger", PSID) == UserPseudonyms(
        [PSEUDONYM_KEY]
    ).pseudonym("messenger", PSID)
    assert not keys.ephemeral


def test_keys_come_from_the_environment_with_their_previous_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_store_key = random_key()
    monkeypatch.setenv("CHATGUARD_STORE__ENCRYPTION_KEY", STORE_KEY.hex())
    monkeypatch.setenv("CHATGUARD_STORE__PREVIOUS_ENCRYPTION_KEYS", f'["{old_store_key.hex()}"]')
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__KEY", PSEUDONYM_KEY.hex())
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__PREVIOUS_KEYS", f'["{OLD_PSEUDONYM_KEY.hex()}"]')
    keys = load_keys(load_settings())
    sealed_before = KeyRing(old_store_key).seal(b"messenger\0" + PSID.encode(), b"ad")
    assert keys.store.open(sealed_before, b"ad") == b"messenger\0" + PSID.encode()
    assert keys.pseudonyms.candidates("messenger", PSID) == [
        UserPseudonyms([PSEUDONYM_KEY]).pseudonym("messenger", PSID),
        UserPseudonyms([OLD_PSEUDONYM_KEY]).pseudonym("messenger", PSID),
    ]


def test_start_without_key_is_refused_outside_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as refused:
        load_keys(load_settings())
    assert "CHATGUARD_PSEUDONYM__KEY" in str(refused.value)
    assert "CHATGUARD_STORE__ENCRYPTION_KEY" in str(refused.value)

    monkeypatch.setenv("CHATGUARD_PSEUDONYM__KEY", PSEUDONYM_KEY.hex())
    with pytest.raises(ConfigurationError, match="CHATGUARD_STORE__ENCRYPTION_KEY") as refused:
        load_keys(load_settings())
    assert "CHATGUARD_PSEUDONYM__KEY" not in str(refused.value)


def test_demo_mode_makes_ephemeral_keys_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__DEMO", "true")
    with caplog.at_level(logging.WARNING, logger="chatguard.pseudonym"):
        keys = load_keys(load_settings())
        again = load_keys(load_settings())
    assert keys.ephemeral
    assert keys.pseudonyms.pseudonym("messenger", PSID) != again.pseudonyms.pseudonym(
        "messenger", PSID
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all("ephemeral" in w for w in warnings)
    assert all(key_id not in w for w in warnings for key_id in keys.pseudonyms.key_ids)


def test_one_key_for_both_purposes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATGUARD_STORE__ENCRYPTION_KEY", STORE_KEY.hex())
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__KEY", STORE_KEY.hex())
    with pytest.raises(ConfigurationError, match="same key"):
        load_keys(load_settings())


def test_bad_key_in_the_environment_names_the_setting_and_not_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATGUARD_STORE__ENCRYPTION_KEY", STORE_KEY.hex()[:40])
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__KEY", PSEUDONYM_KEY.hex())
    with pytest.raises(ConfigurationError, match=r"store\.encryption_key: 20 bytes") as refused:
        load_keys(load_settings())
    assert STORE_KEY.hex()[:40] not in str(refused.value)


def test_previous_keys_without_a_current_key_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__DEMO", "true")
    monkeypatch.setenv("CHATGUARD_PSEUDONYM__PREVIOUS_KEYS", f'["{OLD_PSEUDONYM_KEY.hex()}"]')
    with pytest.raises(ConfigurationError, match=r"pseudonym\.previous_keys set without"):
        load_keys(load_settings())
