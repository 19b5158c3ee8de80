"""Helpers for the tests that run the pipeline as a separate process (cluster, faults):
seed a root with the reference's keystore, run ./spark-submit.sh, compare releases."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from shared import PASSPHRASE, RELEASE_ID

KEYSTORE = Path("trusted") / "keystore" / "keystore.json"


def seed_keystore(reference: Path, root: Path) -> None:
    """Give ``root`` the reference run's keystore (same secret: same tokens and numbers)."""
    target = root / KEYSTORE
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target.parent, 0o700)
    shutil.copy2(reference / KEYSTORE, target)


def pipeline_command(repo: Path, root: Path, conf: Path, *spark_args: str) -> list[str]:
    command = [str(repo / "spark-submit.sh"), "pipeline", "--root", str(root), "--conf", str(conf)]
    return [*command, *spark_args]


def run_env() -> dict[str, str]:
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PSEUDOLINK_PASSPHRASE": PASSPHRASE}


def run_pipeline(repo: Path, root: Path, conf: Path, *spark_args: str, timeout: int = 900):
    return subprocess.run(
        pipeline_command(repo, root, conf, *spark_args),
        cwd=repo,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_until(command: list[str], cwd: Path, pattern: re.Pattern) -> list[str]:
    """Start ``command`` in its own process group; SIGKILL the whole group as soon as a line
    of its output matches ``pattern``. Returns the lines seen (the last one matched)."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=run_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        for line in proc.stdout:
            seen.append(line.rstrip("\n"))
            if pattern.search(line):
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert seen and pattern.search(seen[-1]), "the run ended before the kill point:\n" + (
        "\n".join(seen[-30:])
    )
    return seen


def release_folder(root: Path) -> Path:
    """The one complete release under root/release (a folder with its manifest)."""
    (manifest,) = (root / "release").glob("*/manifest.json")
    return manifest.parent


def release_differences(spark, ours: Path, reference: Path) -> dict[str, tuple[int, int, int]]:
    """Per released table: (rows here, rows in the reference, rows in one and not the other),
    for the tables whose content differs; {} when every table holds exactly the same rows."""
    tables = json.loads((reference / "manifest.json").read_text())["tables"]
    assert set(json.loads((ours / "manifest.json").read_text())["tables"]) == set(tables)
    out = {}
    for name in sorted(tables):
        a = spark.read.format("delta").load(str(ours / name))
        b = spark.read.format("delta").load(str(reference / name)).select(*a.columns)
        differ = a.exceptAll(b).count() + b.exceptAll(a).count()
        if differ:
            out[name] = (a.count(), b.count(), differ)
    return out


def open_release(root: Path, out: Path) -> Path:
    """The release in ``root``'s package, opened with the demo researcher's key into
    ``out``: after the purge the package is the only copy of the release."""
    from pseudolink.catalog import DEMO_DIR
    from pseudolink.deliver.keys import load_private_key
    from pseudolink.deliver.unpack import open_package
    from pseudolink.stages.deliver import DEMO_ID

    package = root / "outbox" / RELEASE_ID
    key = load_private_key(root / DEMO_DIR / f"{DEMO_ID}.key")
    open_package(package, key, out, package / "signer.pub")
    return out / RELEASE_ID
