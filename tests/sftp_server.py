"""A real OpenSSH server for the SFTP tests: Debian's /usr/sbin/sshd (scripts/run-tests.sh
installs openssh-server) on 127.0.0.1 at a free high port, with its own config, host key,
authorised key and pid file in a temporary folder. Started in the foreground (-D) so the
test knows its process and stops exactly that one."""

from __future__ import annotations

import getpass
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pseudolink-test", "-f", str(path)],
        check=True,
    )
    return path


@dataclass
class SshServer:
    folder: Path
    port: int
    user: str
    host_key_pub: Path
    client_key: Path
    other_key: Path  # a key the server does not accept
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(folder: Path) -> SshServer:
    folder.mkdir(parents=True, exist_ok=True)
    host = keygen(folder / "host_ed25519")
    client = keygen(folder / "client_ed25519")
    other = keygen(folder / "other_ed25519")
    (folder / "authorized_keys").write_text((folder / "client_ed25519.pub").read_text())
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host}",
                f"PidFile {folder / 'sshd.pid'}",
                f"AuthorizedKeysFile {folder / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation folder
    process = subprocess.Popen(
        [str(SSHD), "-D", "-f", str(config), "-E", str(folder / "sshd.log")],
        stdin=subprocess.DEVNULL,
    )
    server = SshServer(
        folder, port, getpass.getuser(), folder / "host_ed25519.pub", client, other, process
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sshd stopped: {(folder / 'sshd.log').read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"sshd did not listen on port {port}")
