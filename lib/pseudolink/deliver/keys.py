"""The keys of a delivery: researchers' X25519 key pairs and the sender's Ed25519 key.

A researcher's public key is a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo) of type X25519,
as ``openssl genpkey -algorithm X25519`` and ``openssl pkey -pubout`` make it, or as
``python -m pseudolink.deliver.decrypt --new-key FILE`` writes it. The private key is a
PKCS#8 PEM, encrypted when ``PSEUDOLINK_KEY_PASSPHRASE`` was set at creation. Fingerprints
(SHA-256 of the raw public key, hex) name keys in manifests and logs. Only ``cryptography``
and the standard library: researchers need nothing else.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from pseudolink.errors import InputError

KEY_PASSPHRASE_ENV = "PSEUDOLINK_KEY_PASSPHRASE"
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: x25519.X25519PublicKey | ed25519.Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key.public_bytes(*_RAW)).hexdigest()


def load_public_key(path: Path, what: str) -> x25519.X25519PublicKey:
    """A recipient's X25519 public key; every problem names the file and ``what`` it is."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: {what}: public key file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: {what}: cannot read ({exc.strerror})") from None
    if b"PRIVATE KEY" in data:
        raise InputError(
            f"{path}: {what}: holds a PRIVATE key; only the researcher keeps it: give the "
            "public key (openssl pkey -pubout)"
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InputError(
            f"{path}: {what}: not a PEM public key (expected '-----BEGIN PUBLIC KEY-----', "
            "an X25519 key)"
        ) from None
    if not isinstance(key, x25519.X25519PublicKey):
        raise InputError(
            f"{path}: {what}: a {type(key).__name__.replace('PublicKey', '').lstrip('_')} "
            "key; an X25519 public key is expected (openssl genpkey -algorithm X25519)"
        )
    return key


def load_private_key(path: Path) -> x25519.X25519PrivateKey:
    """A researcher's X25519 private key (PKCS#8 PEM, encrypted or not)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: private key file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the private key ({exc.strerror})") from None
    password = None
    if b"ENCRYPTED" in data:
        password = _key_passphrase(path).encode("utf-8")
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError):
        raise InputError(
            f"{path}: not a readable PEM private key (or a wrong {KEY_PASSPHRASE_ENV})"
        ) from None
    if not isinstance(key, x25519.X25519PrivateKey):
        raise InputError(f"{path}: not an X25519 private key")
    return key


def new_key_pair(private_path: Path, public_path: Path) -> str:
    """Write a new X25519 key pair (private key mode 600, encrypted under
    ``PSEUDOLINK_KEY_PASSPHRASE`` when set); return the public key's fingerprint."""
    for path in (private_path, public_path):
        if path.exists():
            raise InputError(f"{path}: exists; a key is never overwritten")
    key = x25519.X25519PrivateKey.generate()
    phrase = os.environ.get(KEY_PASSPHRASE_ENV, "")
    protection = (
        serialization.BestAvailableEncryption(phrase.encode("utf-8"))
        if phrase
        else serialization.NoEncryption()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, protection
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(public)
    return fingerprint(key.public_key())


def signing_key(seed: bytes) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def public_pem(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signer_key(path: Path) -> ed25519.Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"{path}: signer key file not found") from None
    except (ValueError, TypeError):
        raise InputError(f"{path}: not a PEM public key") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key (the sender's signing key)")
    return key


def _key_passphrase(path: Path) -> str:
    phrase = os.environ.get(KEY_PASSPHRASE_ENV, "")
    if phrase:
        return phrase
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"Passphrase of {path.name}: ")
    raise InputError(f"{path}: the private key is encrypted: set {KEY_PASSPHRASE_ENV}")
