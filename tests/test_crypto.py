"""Sealing what must not be stored in clear, keys with ids, and key rotation."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from chatguard.crypto import Key, KeyRing, load_key, random_key
from chatguard.errors import ConfigurationError, DecryptionError

KEY = bytes(range(32))
OLD_KEY = bytes(range(100, 132))
AD = b"identity\0user-abc"


@settings(max_examples=int(os.environ.get("CHATGUARD_PROPERTY_EXAMPLES", "200")))
@given(plaintext=st.binary(max_size=2048), associated_data=st.binary(max_size=64))
def test_sealed_record_opens_to_what_was_sealed(plaintext: bytes, associated_data: bytes) -> None:
    ring = KeyRing(KEY)
    assert ring.open(ring.seal(plaintext, associated_data), associated_data) == plaintext


def test_sealed_record_names_its_key_and_hides_the_plaintext() -> None:
    ring = KeyRing(KEY)
    sealed = ring.seal(b"messenger\x002415001", AD)
    assert sealed[0] == 1  # format version
    assert sealed[1:5].hex() == ring.current_id == Key(KEY).id
    assert len(sealed) == 1 + 4 + 12 + len(b"messenger\x002415001") + 16
    assert b"2415001" not in sealed
    assert ring.seal(b"messenger\x002415001", AD) != sealed  # a fresh nonce each time


@pytest.mark.parametrize("position", [0, 1, 5, 17, -1])
def test_tampered_record_is_refused(position: int) -> None:
    ring = KeyRing(KEY)
    sealed = bytearray(ring.seal(b"Anna Muller", AD))
    sealed[position] ^= 0x01
    with pytest.raises(DecryptionError) as refused:
        ring.open(bytes(sealed), AD)
    assert "Anna" not in str(refused.value)


def test_record_opened_in_another_context_is_refused() -> None:
    ring = KeyRing(KEY)
    sealed = ring.seal(b"Anna Muller", b"identity\0user-abc")
    with pytest.raises(DecryptionError, match="authentication"):
        ring.open(sealed, b"identity\0user-xyz")


def test_truncated_record_is_refused() -> None:
    with pytest.raises(DecryptionError, match="truncated"):
        KeyRing(KEY).open(b"\x01abc", AD)


def test_record_sealed_before_rotation_still_opens() -> None:
    before = KeyRing(OLD_KEY).seal(b"Anna Muller", AD)
    after_rotation = KeyRing(KEY, previous=[OLD_KEY])
    assert after_rotation.open(before, AD) == b"Anna Muller"
    assert after_rotation.seal(b"x", AD)[1:5].hex() == Key(KEY).id  # new records: new key


def test_record_of_a_dropped_key_is_refused_naming_only_the_key_id() -> None:
    before = KeyRing(OLD_KEY).seal(b"Anna Muller", AD)
    with pytest.raises(DecryptionError, match=Key(OLD_KEY).id):
        KeyRing(KEY).open(before, AD)


def test_key_material_never_shows_in_reprs() -> None:
    ring = KeyRing(KEY, previous=[OLD_KEY])
    for text in (repr(Key(KEY)), repr(ring), str(ring)):
        assert KEY.hex() not in text
        assert KEY.hex()[:8] not in text
        assert "Key" in text
    assert Key(KEY).id in repr(ring) and Key(OLD_KEY).id in repr(ring)


def test_key_id_does_not_depend_on_anything_but_the_key() -> None:
    assert Key(KEY).id == Key(bytes(KEY)).id
    assert Key(KEY).id != Key(OLD_KEY).id
    assert len(Key(KEY).id) == 8


def test_digest_is_keyed_stable_and_changes_with_a_rotation() -> None:
    ring = KeyRing(KEY)
    assert ring.digest(b"PERSON\0anna muller") == KeyRing(KEY).digest(b"PERSON\0anna muller")
    assert ring.digest(b"PERSON\0anna muller") != ring.digest(b"PERSON\0anna mueller")
    assert len(ring.digest(b"x")) == 64
    rotated = KeyRing(random_key(), previous=[KEY])
    assert rotated.digest(b"x") != ring.digest(b"x")
    assert rotated.digests(b"x")[1] == ring.digest(b"x")


def test_same_key_listed_twice_is_one_key() -> None:
    assert KeyRing(KEY, previous=[KEY, OLD_KEY, OLD_KEY]).key_ids == [Key(KEY).id, Key(OLD_KEY).id]


@pytest.mark.parametrize(
    "written",
    [
        KEY.hex(),
        KEY.hex().upper(),
        base64.b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        f"  {KEY.hex()}\n",
    ],
)
def test_key_is_read_as_hex_or_base64(written: str) -> None:
    assert load_key(SecretStr(written), None, "store.encryption_key") == KEY


def test_key_longer_than_32_bytes_is_accepted() -> None:
    long_key = bytes(range(64))
    assert load_key(SecretStr(long_key.hex()), None, "pseudonym.key") == long_key
    KeyRing(long_key).seal(b"x", b"")


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (bytes(range(31)).hex(), "31 bytes, at least 32"),
        ("correct horse battery staple, but spoken", "not hex or base64"),
        ("", "not hex or base64"),
    ],
)
def test_bad_key_is_refused_naming_the_setting_not_the_key(written: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=f"store.encryption_key: {problem}") as refused:
        load_key(SecretStr(written), None, "store.encryption_key")
    if written:
        assert written not in str(refused.value)


def test_key_is_read_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "store.key"
    file.write_text(KEY.hex() + "\n")
    file.chmod(0o600)
    assert load_key(None, file, "store.encryption_key") == KEY


def test_unreadable_key_file_names_the_file_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"store\.encryption_key_file: cannot read"):
        load_key(None, tmp_path / "absent.key", "store.encryption_key")


def test_key_given_twice_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "store.key"
    file.write_text(KEY.hex())
    with pytest.raises(ConfigurationError, match="both set"):
        load_key(SecretStr(KEY.hex()), file, "store.encryption_key")


def test_no_key_configured_is_none() -> None:
    assert load_key(None, None, "store.encryption_key") is None
