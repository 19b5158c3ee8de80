"""The keystore as the stages open it: the demo rule and a non-demo config."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

import pytest

from pseudolink.cli import JobContext
from pseudolink.config import load_config
from pseudolink.keys.keystore import DEMO_PASSPHRASE, KeystoreError, open_keystore
from pseudolink.stages import keys


def context(repo, root, demo: bool) -> JobContext:
    config = load_config(repo / "conf" / "local.yaml", root=str(root))
    config = replace(config, keys=replace(config.keys, demo=demo))
    return JobContext("keys", argparse.Namespace(), config, logging.getLogger("pseudolink"))


def test_demo_config_creates_a_keystore_with_the_announced_demo_passphrase(
    repo, tmp_path, monkeypatch, caplog
):
    monkeypatch.delenv("PSEUDOLINK_PASSPHRASE", raising=False)
    ctx = context(repo, tmp_path, demo=True)
    with caplog.at_level(logging.INFO, logger="pseudolink"):
        made = keys.open_for_run(ctx)
    assert open_keystore(keys.keystore_path(ctx), DEMO_PASSPHRASE).key_id == made.key_id
    assert "DEMO-ONLY passphrase" in caplog.text
    assert DEMO_PASSPHRASE not in caplog.text and made.secret.hex() not in caplog.text
    assert keys.open_for_run(ctx).key_id == made.key_id  # opened again, no prompt


def test_demo_config_uses_the_environment_passphrase_when_set(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", "my own passphrase")
    ctx = context(repo, tmp_path, demo=True)
    made = keys.open_for_run(ctx)
    assert open_keystore(keys.keystore_path(ctx), "my own passphrase").key_id == made.key_id


def test_non_demo_config_needs_keys_init_and_refuses_the_demo_passphrase(
    repo, tmp_path, monkeypatch
):
    ctx = context(repo, tmp_path, demo=False)
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", "a real passphrase")
    with pytest.raises(KeystoreError, match="keys init"):
        keys.open_for_run(ctx)
    assert not keys.keystore_path(ctx).exists()
    keys.init(ctx)
    with pytest.raises(KeystoreError, match="already exists"):
        keys.init(ctx)
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", DEMO_PASSPHRASE)
    with pytest.raises(KeystoreError, match="demo"):
        keys.open_for_run(ctx)


def test_an_unfinished_rotation_blocks_other_jobs(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", "a real passphrase")
    ctx = context(repo, tmp_path, demo=False)
    keys.init(ctx)
    keys.next_path(ctx).write_text("{}")
    with pytest.raises(KeystoreError, match="unfinished `keys rotate`"):
        keys.open_for_run(ctx)
