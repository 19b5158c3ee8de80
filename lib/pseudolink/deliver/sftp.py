"""Upload a package to an SFTP server (paramiko): host key pinned, key-based login,
resumable, every file's size and SHA-256 checked on the server after upload.

Each file goes to ``<name>.part`` and is renamed once its size and SHA-256 (read back
from the server) match the manifest; a ``.part`` left by an interrupted run is continued
from its size. The package's manifest goes last, so a folder on the server holding
``package.json`` is complete. Errors name the server and what went wrong, never a key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import socket
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko

from pseudolink.errors import PseudolinkError

KEY_PASSPHRASE_ENV = "PSEUDOLINK_SFTP_KEY_PASSPHRASE"
BLOCK = 1 << 20
_RSA_ALGORITHMS = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


class SftpError(PseudolinkError):
    """The server cannot be reached, is not the pinned one, refuses the key, or a file
    did not arrive intact."""


@dataclass(frozen=True)
class Server:
    """Where and how to connect (paths already resolved)."""

    host: str
    port: int
    username: str
    host_key: Path
    client_key: Path
    remote_dir: str
    timeout: float = 30.0

    @property
    def name(self) -> str:
        return f"sftp://{self.username}@{self.host}:{self.port}/{self.remote_dir}"


@dataclass
class UploadStats:
    sent: int = 0
    skipped: list[str] = field(default_factory=list)
    resumed: dict[str, int] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)


def pinned_key(path: Path) -> paramiko.PKey:
    """The server's public host key from a file: an OpenSSH public key line
    (``ssh-ed25519 AAAA... comment``) or a known_hosts line."""
    try:
        words = path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        raise SftpError(f"{path}: pinned host key file not found") from None
    for kind, data in zip(words, words[1:], strict=False):
        if kind.startswith(("ssh-", "ecdsa-")):
            try:
                return paramiko.PKey.from_type_string(kind, base64.b64decode(data))
            except (binascii.Error, paramiko.SSHException, ValueError):
                break
    raise SftpError(f"{path}: not an OpenSSH public host key ('ssh-ed25519 AAAA...')")


def client_key(path: Path) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(path, os.environ.get(KEY_PASSPHRASE_ENV) or None)
    except FileNotFoundError:
        raise SftpError(f"{path}: SFTP client key not found") from None
    except paramiko.PasswordRequiredException:
        raise SftpError(f"{path}: the key is encrypted: set {KEY_PASSPHRASE_ENV}") from None
    except (paramiko.SSHException, ValueError):
        raise SftpError(f"{path}: not a readable private key (OpenSSH or PEM)") from None


@contextlib.contextmanager
def connect(server: Server) -> Iterator[paramiko.SFTPClient]:
    """An SFTP session with the pinned server, logged in with the client key."""
    expected, pkey = pinned_key(server.host_key), client_key(server.client_key)
    try:
        sock = socket.create_connection((server.host, server.port), timeout=server.timeout)
    except OSError as exc:
        raise SftpError(
            f"{server.name}: cannot reach the SFTP server ({exc.strerror or exc}); "
            "nothing was uploaded"
        ) from None
    transport = paramiko.Transport(sock)
    try:
        kind = expected.get_name()
        options = transport.get_security_options()
        options.key_types = _RSA_ALGORITHMS if kind == "ssh-rsa" else (kind,)
        try:
            transport.start_client(timeout=server.timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SftpError(f"{server.name}: SSH handshake failed ({exc})") from None
        offered = transport.get_remote_server_key()
        if offered.get_name() != kind or offered.asbytes() != expected.asbytes():
            raise SftpError(
                f"{server.name}: the server's host key ({offered.get_name()} "
                f"{offered.fingerprint}) is not the pinned one in {server.host_key}: "
                "refusing to connect; nothing was uploaded"
            )
        try:
            transport.auth_publickey(server.username, pkey)
        except paramiko.AuthenticationException:
            raise SftpError(
                f"{server.name}: the server refused the key {server.client_key} for user "
                f"{server.username}; nothing was uploaded"
            ) from None
        sftp = paramiko.SFTPClient.from_transport(transport)
        if sftp is None:
            raise SftpError(f"{server.name}: no SFTP subsystem")
        try:
            yield sftp
        finally:
            sftp.close()
    finally:
        transport.close()


def _exists(sftp: paramiko.SFTPClient, path: str) -> Any:
    try:
        return sftp.stat(path)
    except FileNotFoundError:
        return None


def makedirs(sftp: paramiko.SFTPClient, path: str) -> None:
    parts = [p for p in path.split("/") if p]
    current = "/" if path.startswith("/") else ""
    for part in parts:
        current = f"{current}{part}" if current in ("", "/") else f"{current}/{part}"
        if part == ".":
            continue
        found = _exists(sftp, current)
        if found is None:
            sftp.mkdir(current)
        elif not stat.S_ISDIR(found.st_mode or 0):
            raise SftpError(f"{current}: exists on the server and is not a folder")


def remote_sha256(sftp: paramiko.SFTPClient, path: str) -> str:
    digest = hashlib.sha256()
    with sftp.open(path, "rb") as fh:
        fh.prefetch()
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def upload(
    sftp: paramiko.SFTPClient,
    local: Path,
    remote: str,
    files: list[dict[str, Any]],
    progress: Callable[[str, int], None] | None = None,
) -> UploadStats:
    """Upload ``files`` (path, bytes, sha256; in order, the manifest last) of folder
    ``local`` to ``remote``, resuming and verifying each."""
    stats = UploadStats()
    for f in files:
        makedirs(sftp, f"{remote}/{f['path']}".rsplit("/", 1)[0])
        final, part = f"{remote}/{f['path']}", f"{remote}/{f['path']}.part"
        there = _exists(sftp, final)
        if there is not None:
            if there.st_size == f["bytes"] and remote_sha256(sftp, final) == f["sha256"]:
                stats.skipped.append(f["path"])
                continue
            sftp.remove(final)  # a stale or different copy
        for attempt in (1, 2):
            _send(sftp, local / f["path"], part, f, stats, progress)
            size = sftp.stat(part).st_size
            if size == f["bytes"] and remote_sha256(sftp, part) == f["sha256"]:
                break
            sftp.remove(part)
            if attempt == 2:
                raise SftpError(
                    f"{remote}/{f['path']}: {size} bytes on the server, SHA-256 or size "
                    "differs from the package after two uploads"
                )
        sftp.posix_rename(part, final)
        stats.verified.append(f["path"])
    return stats


def _send(
    sftp: paramiko.SFTPClient,
    source: Path,
    part: str,
    f: dict[str, Any],
    stats: UploadStats,
    progress: Callable[[str, int], None] | None,
) -> None:
    """Write ``source`` to ``part``, continuing after the bytes already there."""
    there = _exists(sftp, part)
    offset = there.st_size if there is not None and there.st_size <= f["bytes"] else 0
    if offset:
        stats.resumed[f["path"]] = offset
    with open(source, "rb") as src, sftp.open(part, "ab" if offset else "wb") as dst:
        dst.set_pipelined(True)
        src.seek(offset)
        done = offset
        for block in iter(lambda: src.read(BLOCK), b""):
            dst.write(block)
            done += len(block)
            stats.sent += len(block)
            if progress:
                progress(f["path"], done)


def remove(sftp: paramiko.SFTPClient, remote: str, first: list[str]) -> int:
    """Remove a package folder on the server, the ``first`` files (wrapped keys) before
    the rest; returns the number of files removed."""
    if _exists(sftp, remote) is None:
        return 0
    removed = 0
    for rel in first:
        for name in (rel, rel + ".part"):
            if _exists(sftp, f"{remote}/{name}") is not None:
                sftp.remove(f"{remote}/{name}")
                removed += 1
    return removed + _remove_tree(sftp, remote)


def _remove_tree(sftp: paramiko.SFTPClient, path: str) -> int:
    removed = 0
    for entry in sftp.listdir_attr(path):
        child = f"{path}/{entry.filename}"
        if stat.S_ISDIR(entry.st_mode or 0):
            removed += _remove_tree(sftp, child)
        else:
            sftp.remove(child)
            removed += 1
    sftp.rmdir(path)
    return removed
