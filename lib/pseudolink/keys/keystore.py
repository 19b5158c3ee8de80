"""The trusted third party's project secret, kept in a passphrase-encrypted keystore file.

Every pseudonym is an HMAC-SHA256 token keyed by one 32-byte project secret: whoever holds the
secret can re-identify every person, so it never lies on disk in the clear. The keystore file
holds it encrypted with AES-256-GCM under a key derived from a passphrase with scrypt (slow and
memory-hard, so a stolen file cannot be brute-forced cheaply).

The file is JSON with a readable header (format, version, scrypt parameters and salt, nonce,
``key_id``, ``created``) and the ciphertext. The canonical JSON of the whole header is the
AES-GCM associated data: a changed field (weaker scrypt parameters, another key_id, a swapped
salt) makes decryption fail instead of being silently believed.

The ``key_id`` names the secret without revealing it (an HKDF output, not the secret itself), so
outputs and logs can say which secret made a token. No message ever holds the passphrase or the
secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import getpass
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pseudolink.errors import PseudolinkError

KEYSTORE_FILE = "keystore.json"
DEMO_PASSPHRASE = "pseudolink-demo-only-passphrase"
PASSPHRASE_ENV = "PSEUDOLINK_PASSPHRASE"

FORMAT = "pseudolink-keystore"
VERSION = 1
SECRET_BYTES = 32
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_CHARS = 16

# scrypt cost for new files: 32 MiB of memory and ~0.1 s per open, cheap for one run, costly
# for anyone trying millions of passphrases.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
# What a header may ask for. The upper bounds stop a crafted file from making us allocate
# gigabytes or spin for minutes; the lower bound stops it from weakening a re-saved keystore.
SCRYPT_N_MIN = 2**14
SCRYPT_N_MAX = 2**20
SCRYPT_RP_MAX = 16
SCRYPT_MAX_MEMORY = 2**30  # scrypt needs 128 * n * r bytes

_INFO_KEY_ID = b"pseudolink:v1:key-id"
_INFO_PERSONS = b"pseudolink:v1:persons"
_INFO_HOUSEHOLDS = b"pseudolink:v1:households"
_INFO_NUMBERING = b"pseudolink:v1:numbering:"
_INFO_SIGNING = b"pseudolink:v1:package-signing"

_HEADER_FIELDS = ("format", "version", "kdf", "cipher", "key_id", "created")
_KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
_MISSING = "{path}: no keystore (run ./spark-submit.sh keys init first)"


class KeystoreError(PseudolinkError):
    """The keystore is missing, corrupted, locked with another passphrase, or unusable."""


def _hkdf(secret: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 with no salt: the secret is already uniformly random, ``info`` separates
    the uses so a key for one purpose says nothing about another."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def compute_key_id(secret: bytes) -> str:
    """The 16 hex chars naming ``secret``: one-way, so it can be printed and logged."""
    return _hkdf(secret, _INFO_KEY_ID).hex()[:KEY_ID_CHARS]


def _now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Keystore:
    """The decrypted project secret with its public name (``key_id``) and creation time.

    The secret is kept out of ``repr``/``str`` so a stray log line or traceback cannot leak it.
    Jobs should use :meth:`person_key` and :meth:`household_key`, never the secret itself.
    """

    key_id: str
    created: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) != SECRET_BYTES:
            raise KeystoreError(f"keystore secret must be {SECRET_BYTES} bytes")
        if self.key_id != compute_key_id(self.secret):
            raise KeystoreError(f"key_id {self.key_id!r} does not belong to this secret")

    def person_key(self) -> bytes:
        """The 32-byte HMAC key for person pseudonyms."""
        return _hkdf(self.secret, _INFO_PERSONS)

    def household_key(self) -> bytes:
        """The 32-byte HMAC key for household pseudonyms, unrelated to the person key so equal
        inputs in the two domains never give linkable tokens."""
        return _hkdf(self.secret, _INFO_HOUSEHOLDS)

    def numbering_key(self, domain: str) -> bytes:
        """The 32-byte key that orders a domain's new tokens before they are numbered: a
        keyed random permutation, the same in every rerun with this secret."""
        return _hkdf(self.secret, _INFO_NUMBERING + domain.encode())

    def signing_seed(self) -> bytes:
        """The 32-byte Ed25519 seed that signs delivery packages (docs/deliver.md): the
        trusted third party's signing key, derived, so it needs no file of its own."""
        return _hkdf(self.secret, _INFO_SIGNING)

    def __repr__(self) -> str:
        return f"Keystore(key_id={self.key_id!r}, created={self.created!r})"

    def __str__(self) -> str:
        return f"keystore {self.key_id} (created {self.created})"


def new_keystore() -> Keystore:
    """A fresh random secret, not yet saved anywhere."""
    secret = os.urandom(SECRET_BYTES)
    return Keystore(key_id=compute_key_id(secret), created=_now_utc(), secret=secret)


# --- file format -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _aad(header: dict[str, Any]) -> bytes:
    """The canonical bytes of the header, bound to the ciphertext as associated data."""
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _derive_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _encrypt(keystore: Keystore, passphrase: str) -> dict[str, Any]:
    """The complete file content; fresh salt and nonce each time, so no (key, nonce) pair is
    ever used twice and two saves of one secret do not look alike."""
    salt = os.urandom(SALT_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
        "key_id": keystore.key_id,
        "created": keystore.created,
    }
    plaintext = json.dumps(
        {"secret": _b64(keystore.secret), "key_id": keystore.key_id, "created": keystore.created},
        sort_keys=True,
    ).encode()
    key = _derive_key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _aad(header))
    return {**header, "ciphertext": _b64(ciphertext)}


@dataclass(frozen=True)
class _Parsed:
    """A keystore file checked for shape, not yet decrypted."""

    header: dict[str, Any]
    salt: bytes
    n: int
    r: int
    p: int
    nonce: bytes
    ciphertext: bytes


def _corrupted(path: Path, what: str) -> KeystoreError:
    return KeystoreError(f"{path}: corrupted keystore ({what})")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _decode_b64(path: Path, value: object, name: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise _corrupted(path, f"{name} must be a base64 string")
    try:
        data = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise _corrupted(path, f"{name} is not valid base64") from None
    if size is not None and len(data) != size:
        raise _corrupted(path, f"{name} must be {size} bytes, found {len(data)}")
    return data


def _object(path: Path, value: object, name: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _corrupted(path, f"{name} must be a JSON object")
    missing = sorted(keys - value.keys())
    if missing:
        raise _corrupted(path, f"{name} lacks {', '.join(missing)}")
    extra = sorted(value.keys() - keys)
    if extra:
        raise _corrupted(path, f"{name} has unexpected {', '.join(extra)}")
    return value


def _read(path: Path) -> _Parsed:
    """Read and check the file's shape; every problem becomes a KeystoreError naming it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeystoreError(_MISSING.format(path=path)) from None
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot read keystore ({exc.strerror})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _corrupted(path, "not valid JSON") from None

    if not isinstance(data, dict):
        raise _corrupted(path, "expected a JSON object")
    if data.get("format") != FORMAT:
        raise _corrupted(path, f"format must be {FORMAT!r}")
    version = data.get("version")
    if version != VERSION or not _is_int(version):
        raise _corrupted(path, f"unsupported version {version!r}, expected {VERSION}")
    data = _object(path, data, "the file", {*_HEADER_FIELDS, "ciphertext"})

    kdf = _object(path, data["kdf"], "kdf", {"name", "n", "r", "p", "salt"})
    if kdf["name"] != "scrypt":
        raise _corrupted(path, "kdf name must be 'scrypt'")
    n, r, p = kdf["n"], kdf["r"], kdf["p"]
    if not (_is_int(n) and _is_int(r) and _is_int(p)):
        raise _corrupted(path, "kdf n, r and p must be integers")
    if n & (n - 1) or not SCRYPT_N_MIN <= n <= SCRYPT_N_MAX:
        raise _corrupted(
            path, f"kdf n must be a power of 2 from {SCRYPT_N_MIN} to {SCRYPT_N_MAX}, found {n}"
        )
    if not (1 <= r <= SCRYPT_RP_MAX and 1 <= p <= SCRYPT_RP_MAX):
        raise _corrupted(path, f"kdf r and p must be from 1 to {SCRYPT_RP_MAX}")
    if 128 * n * r > SCRYPT_MAX_MEMORY:
        raise _corrupted(path, f"kdf n * r needs more than {SCRYPT_MAX_MEMORY >> 20} MiB")
    salt = _decode_b64(path, kdf["salt"], "kdf salt", SALT_BYTES)

    cipher = _object(path, data["cipher"], "cipher", {"name", "nonce"})
    if cipher["name"] != "AES-256-GCM":
        raise _corrupted(path, "cipher name must be 'AES-256-GCM'")
    nonce = _decode_b64(path, cipher["nonce"], "cipher nonce", NONCE_BYTES)

    key_id = data["key_id"]
    if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
        raise _corrupted(path, f"key_id must be {KEY_ID_CHARS} lowercase hex characters")
    created = data["created"]
    try:
        datetime.fromisoformat(created)
    except (TypeError, ValueError):
        raise _corrupted(path, "created must be an ISO-8601 time") from None

    ciphertext = _decode_b64(path, data["ciphertext"], "ciphertext")
    if len(ciphertext) <= TAG_BYTES:
        raise _corrupted(path, "ciphertext is too short")
    header = {k: v for k, v in data.items() if k != "ciphertext"}
    return _Parsed(header, salt, n, r, p, nonce, ciphertext)


def _decrypt(path: Path, parsed: _Parsed, passphrase: str) -> Keystore:
    key = _derive_key(passphrase, parsed.salt, parsed.n, parsed.r, parsed.p)
    try:
        plaintext = AESGCM(key).decrypt(parsed.nonce, parsed.ciphertext, _aad(parsed.header))
    except InvalidTag:
        raise KeystoreError(f"{path}: wrong passphrase, or the keystore was altered") from None
    # Past the tag check the content is what our own writer produced; these checks catch a
    # writer bug, not an attacker, and must never echo the decrypted values.
    try:
        inner = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _corrupted(path, "encrypted content is not valid JSON") from None
    inner = _object(path, inner, "the encrypted content", {"secret", "key_id", "created"})
    secret = _decode_b64(path, inner["secret"], "the encrypted secret", SECRET_BYTES)
    key_id = parsed.header["key_id"]
    if inner["key_id"] != key_id:
        raise _corrupted(path, "header key_id differs from the encrypted key_id")
    if compute_key_id(secret) != key_id:
        raise _corrupted(path, "key_id does not match the encrypted secret")
    if inner["created"] != parsed.header["created"]:
        raise _corrupted(path, "header created differs from the encrypted created")
    return Keystore(key_id=key_id, created=parsed.header["created"], secret=secret)


# --- files -----------------------------------------------------------------------------------


def _make_private_dirs(folder: Path) -> None:
    """Create missing folders as 0o700 (``mkdir(parents=True)`` would ignore the mode for
    the intermediate ones); existing folders are left as they are."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):
            part.mkdir(mode=0o700)
        os.chmod(part, 0o700)  # mkdir's mode is filtered by the umask


def _write(path: Path, content: bytes, *, exclusive: bool) -> None:
    """Write ``content`` so that ``path`` is either the old file or the complete new one,
    never a half-written keystore (a lost secret loses every pseudonym's link).

    With ``exclusive`` an existing file is never replaced, even one created meanwhile.
    """
    try:
        _make_private_dirs(path.parent)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot write keystore ({exc.strerror})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            _link_exclusive(tmp, path)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except FileExistsError:
        raise KeystoreError(
            f"{path}: keystore already exists; keys rotate changes the secret"
        ) from None
    except OSError as exc:
        raise KeystoreError(f"{path}: cannot write keystore ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _link_exclusive(tmp: Path, path: Path) -> None:
    """Put ``tmp`` at ``path`` unless something is there (a hard link never overwrites)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:
        # No hard links on this filesystem: fall back to check-then-replace.
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder, so best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_passphrase(passphrase: str) -> None:
    if not isinstance(passphrase, str) or not passphrase:
        raise KeystoreError("empty passphrase: a keystore needs a non-empty passphrase")


def _serialise(keystore: Keystore, passphrase: str) -> bytes:
    _check_passphrase(passphrase)
    return (json.dumps(_encrypt(keystore, passphrase), indent=2) + "\n").encode("ascii")


def save(path: str | Path, keystore: Keystore, passphrase: str) -> None:
    """Encrypt ``keystore`` under ``passphrase`` and write it atomically to ``path`` (mode
    0o600), replacing any file there. Each save draws a new salt and nonce."""
    _write(Path(path), _serialise(keystore, passphrase), exclusive=False)


def create(path: str | Path, passphrase: str) -> Keystore:
    """Make a new secret and save it to ``path``, which must not exist: overwriting a keystore
    would silently orphan every pseudonym made with the old secret."""
    path = Path(path)
    if path.exists():
        raise KeystoreError(f"{path}: keystore already exists; keys rotate changes the secret")
    keystore = new_keystore()
    _write(path, _serialise(keystore, passphrase), exclusive=True)
    return keystore


def open_keystore(path: str | Path, passphrase: str) -> Keystore:
    """Read, check and decrypt the keystore at ``path``."""
    path = Path(path)
    parsed = _read(path)
    _check_passphrase(passphrase)
    return _decrypt(path, parsed, passphrase)


def read_header(path: str | Path) -> dict[str, Any]:
    """The unencrypted header (format, version, kdf, cipher, key_id, created), checked for
    shape: enough to show which secret a keystore holds without asking for the passphrase.
    Unauthenticated until the keystore is opened."""
    return _read(Path(path)).header


def resolve_passphrase(*, demo: bool, allow_prompt: bool = True) -> tuple[str, bool]:
    """Find the passphrase: ``$PSEUDOLINK_PASSPHRASE``, else a prompt on a terminal, else (for
    the demo config only) the published demo passphrase. Returns ``(passphrase, is_demo)``.

    The demo passphrase is public, so a real (non-demo) config refuses it wherever it comes
    from: a real secret must not be one ``git grep`` away from being decrypted.
    """
    passphrase = os.environ.get(PASSPHRASE_ENV, "")
    if not passphrase:
        stdin = sys.stdin
        if allow_prompt and stdin is not None and stdin.isatty():
            try:
                passphrase = getpass.getpass("Keystore passphrase: ")
            except EOFError:
                passphrase = ""
            if not passphrase:
                raise KeystoreError("empty passphrase: the keystore needs a non-empty passphrase")
        elif demo:
            return DEMO_PASSPHRASE, True
        else:
            raise KeystoreError(f"no passphrase: set {PASSPHRASE_ENV} or run from a terminal")
    if passphrase == DEMO_PASSPHRASE:
        if not demo:
            raise KeystoreError(
                "the demo passphrase is refused outside the demo config: "
                f"set {PASSPHRASE_ENV} to a passphrase of your own"
            )
        return passphrase, True
    return passphrase, False
