"""The keystore: round trip, secrecy of the file and the messages, tamper detection, and where
the passphrase comes from. No Spark; each scrypt call costs about 0.1 s."""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path

import pytest

from pseudolink.errors import PseudolinkError
from pseudolink.keys import keystore as ks
from pseudolink.keys.keystore import (
    DEMO_PASSPHRASE,
    KEYSTORE_FILE,
    PASSPHRASE_ENV,
    Keystore,
    KeystoreError,
    create,
    new_keystore,
    open_keystore,
    read_header,
    resolve_passphrase,
    save,
)

PASSPHRASE = "correct horse battery staple 42"


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Keystore]:
    path = tmp_path / "keys" / KEYSTORE_FILE
    return path, create(path, PASSPHRASE)


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2))


def test_round_trip_returns_the_same_secret(store):
    path, made = store
    opened = open_keystore(path, PASSPHRASE)
    assert opened.secret == made.secret
    assert opened.key_id == made.key_id
    assert opened.created == made.created
    assert len(made.secret) == 32
    assert made.key_id == ks.compute_key_id(made.secret)
    assert len(made.key_id) == 16
    assert int(made.key_id, 16) >= 0
    assert made.created.endswith("Z")


def test_new_keystores_have_different_secrets():
    first, second = new_keystore(), new_keystore()
    assert first.secret != second.secret
    assert first.key_id != second.key_id


def test_person_and_household_keys_are_separate_and_stable(store):
    path, made = store
    opened = open_keystore(path, PASSPHRASE)
    assert len(made.person_key()) == 32
    assert len(made.household_key()) == 32
    assert made.person_key() != made.household_key()
    assert made.person_key() != made.secret
    assert opened.person_key() == made.person_key()
    assert opened.household_key() == made.household_key()


def test_file_never_holds_the_passphrase_or_the_secret(store):
    path, made = store
    raw = path.read_bytes()
    text = raw.decode()
    assert PASSPHRASE not in text
    assert made.secret not in raw
    assert made.secret.hex() not in text.lower()
    assert base64.b64encode(made.secret).decode() not in text
    assert base64.urlsafe_b64encode(made.secret).decode() not in text
    data = _load(path)
    assert data["format"] == "pseudolink-keystore"
    assert data["version"] == 1
    assert data["key_id"] == made.key_id
    assert data["kdf"]["name"] == "scrypt"
    assert data["cipher"]["name"] == "AES-256-GCM"


def test_each_save_draws_new_salt_nonce_and_ciphertext(tmp_path):
    keystore = new_keystore()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    save(first, keystore, PASSPHRASE)
    save(second, keystore, PASSPHRASE)
    a, b = _load(first), _load(second)
    assert a["kdf"]["salt"] != b["kdf"]["salt"]
    assert a["cipher"]["nonce"] != b["cipher"]["nonce"]
    assert a["ciphertext"] != b["ciphertext"]
    assert open_keystore(first, PASSPHRASE) == open_keystore(second, PASSPHRASE) == keystore


def test_save_replaces_atomically_and_leaves_no_temp_file(store):
    path, made = store
    save(path, made, "another passphrase")
    assert open_keystore(path, "another passphrase") == made
    assert sorted(p.name for p in path.parent.iterdir()) == [KEYSTORE_FILE]


def test_file_and_new_folder_modes_are_private(store):
    path, _ = store
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_wrong_passphrase_names_the_file_not_the_passphrase(store):
    path, _ = store
    wrong = "not-the-passphrase-xyz"
    with pytest.raises(KeystoreError) as info:
        open_keystore(path, wrong)
    message = str(info.value)
    assert str(path) in message
    assert "wrong passphrase" in message
    assert wrong not in message
    assert PASSPHRASE not in message
    assert isinstance(info.value, PseudolinkError)


def test_flipped_ciphertext_byte_is_detected(store):
    path, made = store
    data = _load(path)
    blob = bytearray(base64.b64decode(data["ciphertext"]))
    blob[5] ^= 0x01
    data["ciphertext"] = base64.b64encode(bytes(blob)).decode()
    _dump(path, data)
    with pytest.raises(KeystoreError, match="wrong passphrase, or the keystore was altered") as e:
        open_keystore(path, PASSPHRASE)
    assert made.secret.hex() not in str(e.value)


@pytest.mark.parametrize(
    ("edit", "value"),
    [
        (("key_id",), "0123456789abcdef"),
        (("created",), "2001-01-01T00:00:00Z"),
        (("kdf", "n"), 2**14),
        (("kdf", "r"), 4),
    ],
)
def test_edited_header_field_breaks_decryption(store, edit, value):
    path, _ = store
    data = _load(path)
    target = data
    for key in edit[:-1]:
        target = target[key]
    assert target[edit[-1]] != value
    target[edit[-1]] = value
    _dump(path, data)
    read_header(path)  # still well-formed, so only the authentication can catch it
    with pytest.raises(KeystoreError, match="wrong passphrase, or the keystore was altered"):
        open_keystore(path, PASSPHRASE)


def test_swapped_salt_breaks_decryption(store):
    path, _ = store
    data = _load(path)
    data["kdf"]["salt"] = base64.b64encode(bytes(16)).decode()
    _dump(path, data)
    with pytest.raises(KeystoreError, match="wrong passphrase, or the keystore was altered"):
        open_keystore(path, PASSPHRASE)


def test_truncated_json_is_corrupted(store):
    path, _ = store
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(KeystoreError, match="corrupted keystore") as info:
        open_keystore(path, PASSPHRASE)
    assert str(path) in str(info.value)
    with pytest.raises(KeystoreError, match="corrupted keystore"):
        read_header(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(format="something-else"), "format"),
        (lambda d: d.update(version=2), "unsupported version"),
        (lambda d: d.pop("cipher"), "lacks cipher"),
        (lambda d: d.update(ciphertext="not base64!!"), "ciphertext is not valid base64"),
        (lambda d: d["kdf"].update(n=3 * 2**14), "power of 2"),
        (lambda d: d["kdf"].update(n=2**10), "power of 2"),
        (lambda d: d["kdf"].update(n=2**21), "power of 2"),
        (lambda d: d["kdf"].update(r=0), "r and p"),
        (lambda d: d["kdf"].update(p=17), "r and p"),
        (lambda d: d["kdf"].update(salt=base64.b64encode(b"short").decode()), "salt must be 16"),
        (lambda d: d["cipher"].update(name="AES-128-CBC"), "AES-256-GCM"),
        (lambda d: d.update(key_id="not-hex"), "key_id"),
    ],
)
def test_malformed_file_is_corrupted(store, mutate, expected):
    path, _ = store
    data = _load(path)
    mutate(data)
    _dump(path, data)
    with pytest.raises(KeystoreError, match="corrupted keystore") as info:
        open_keystore(path, PASSPHRASE)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_json_that_is_not_an_object_is_corrupted(tmp_path):
    path = tmp_path / KEYSTORE_FILE
    path.write_text("[1, 2, 3]")
    with pytest.raises(KeystoreError, match="corrupted keystore"):
        open_keystore(path, PASSPHRASE)


def test_missing_file_says_how_to_make_one(tmp_path):
    path = tmp_path / KEYSTORE_FILE
    for call in (lambda: open_keystore(path, PASSPHRASE), lambda: read_header(path)):
        with pytest.raises(KeystoreError) as info:
            call()
        assert str(info.value) == f"{path}: no keystore (run ./spark-submit.sh keys init first)"


def test_create_refuses_an_existing_file_and_leaves_it_alone(store):
    path, made = store
    before = path.read_bytes()
    with pytest.raises(KeystoreError, match="already exists; keys rotate changes the secret"):
        create(path, "some other passphrase")
    assert path.read_bytes() == before
    assert open_keystore(path, PASSPHRASE) == made


def test_exclusive_write_does_not_clobber_a_file_that_appears_meanwhile(tmp_path):
    path = tmp_path / KEYSTORE_FILE
    path.write_bytes(b"someone else's")
    with pytest.raises(KeystoreError, match="already exists"):
        ks._write(path, b"new content", exclusive=True)
    assert path.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEYSTORE_FILE]


def test_read_header_needs_no_passphrase_and_holds_no_ciphertext(store):
    path, made = store
    header = read_header(path)
    assert header["key_id"] == made.key_id
    assert header["created"] == made.created
    assert header["kdf"]["n"] == 2**15
    assert "ciphertext" not in header
    assert set(header) == {"format", "version", "kdf", "cipher", "key_id", "created"}


def test_repr_and_str_hide_the_secret(store):
    _, made = store
    for text in (repr(made), str(made), f"{made!r} {made}"):
        assert made.secret.hex() not in text
        assert repr(made.secret) not in text
        assert made.key_id in text


def test_keystore_rejects_a_key_id_of_another_secret():
    made = new_keystore()
    with pytest.raises(KeystoreError):
        Keystore(key_id="0123456789abcdef", created=made.created, secret=made.secret)
    with pytest.raises(KeystoreError):
        Keystore(key_id=made.key_id, created=made.created, secret=made.secret[:16])


def test_empty_passphrase_is_refused(tmp_path):
    with pytest.raises(KeystoreError, match="empty passphrase"):
        create(tmp_path / KEYSTORE_FILE, "")
    assert not (tmp_path / KEYSTORE_FILE).exists()


# --- resolve_passphrase ----------------------------------------------------------------------


@pytest.fixture
def no_tty(monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    monkeypatch.setattr(ks.getpass, "getpass", _no_prompt)


def _no_prompt(*args, **kwargs):
    raise AssertionError("must not prompt")


def test_environment_wins(monkeypatch, no_tty):
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    assert resolve_passphrase(demo=True) == (PASSPHRASE, False)
    assert resolve_passphrase(demo=False) == (PASSPHRASE, False)


def test_environment_wins_over_a_terminal(monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(ks.getpass, "getpass", _no_prompt)
    assert resolve_passphrase(demo=False) == (PASSPHRASE, False)


def test_demo_falls_back_to_the_demo_passphrase(monkeypatch, no_tty):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    assert resolve_passphrase(demo=True) == (DEMO_PASSPHRASE, True)


def test_empty_environment_variable_counts_as_unset(monkeypatch, no_tty):
    monkeypatch.setenv(PASSPHRASE_ENV, "")
    assert resolve_passphrase(demo=True) == (DEMO_PASSPHRASE, True)


def test_non_demo_refuses_the_demo_passphrase(monkeypatch, no_tty):
    monkeypatch.setenv(PASSPHRASE_ENV, DEMO_PASSPHRASE)
    with pytest.raises(KeystoreError, match="demo passphrase is refused") as info:
        resolve_passphrase(demo=False)
    assert DEMO_PASSPHRASE not in str(info.value)
    assert resolve_passphrase(demo=True) == (DEMO_PASSPHRASE, True)


def test_non_demo_without_environment_or_terminal_raises(monkeypatch, no_tty):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    with pytest.raises(KeystoreError, match="no passphrase: set PSEUDOLINK_PASSPHRASE"):
        resolve_passphrase(demo=False)


def test_terminal_prompts(monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(ks.getpass, "getpass", lambda prompt="": PASSPHRASE)
    assert resolve_passphrase(demo=False) == (PASSPHRASE, False)
    assert resolve_passphrase(demo=True) == (PASSPHRASE, False)


def test_prompt_is_skipped_when_not_allowed(monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(ks.getpass, "getpass", _no_prompt)
    assert resolve_passphrase(demo=True, allow_prompt=False) == (DEMO_PASSPHRASE, True)
    with pytest.raises(KeystoreError, match="no passphrase"):
        resolve_passphrase(demo=False, allow_prompt=False)


def test_empty_prompt_answer_is_an_error(monkeypatch):
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(ks.getpass, "getpass", lambda prompt="": "")
    with pytest.raises(KeystoreError, match="empty passphrase"):
        resolve_passphrase(demo=True)
