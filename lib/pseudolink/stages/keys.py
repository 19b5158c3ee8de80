"""Keys stage: the keystore (init, verify, rotate) and opening it for the other stages.

The keystore is ``trusted/keystore/keystore.json`` (local disk of the trusted third
party): the project secret, encrypted (:mod:`pseudolink.keys.keystore`). The passphrase
comes from ``PSEUDOLINK_PASSPHRASE`` or a prompt; it and the secret never reach a log.

``rotate`` makes a new secret and re-keys both key tables so that every sequence number
stays the same: each known identifier's token under the old key is matched to its token
under the new one. Crash safety: the new keystore is first saved beside the old one
(``keystore.json.next``); the key tables are rewritten one by one (each carries its
``key_id``); the new keystore then replaces the old. Running ``rotate`` again after a
crash finishes the same rotation.
"""

from __future__ import annotations

import os
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from pseudolink.catalog import KEYSTORE_DIR
from pseudolink.cli import JobContext
from pseudolink.errors import PseudolinkError
from pseudolink.keys.keystore import (
    KEYSTORE_FILE,
    Keystore,
    KeystoreError,
    create,
    new_keystore,
    open_keystore,
    resolve_passphrase,
    save,
)
from pseudolink.pseudo.keytable import (
    DOMAINS,
    integrity,
    key_ids,
    read_key_table,
)
from pseudolink.pseudo.tokens import token

_KEYSTORE_REL = f"trusted/{KEYSTORE_DIR}/{KEYSTORE_FILE}"


def keystore_path(ctx: JobContext) -> Path:
    return ctx.catalog.keystore_file()


def next_path(ctx: JobContext) -> Path:
    path = keystore_path(ctx)
    return path.with_name(path.name + ".next")


def _passphrase(ctx: JobContext, allow_prompt: bool = True) -> str:
    """PSEUDOLINK_PASSPHRASE, else a prompt (never under a demo config: the demo runs
    without one), else the demo passphrase under a demo config."""
    demo = ctx.config.keys.demo
    phrase, is_demo = resolve_passphrase(demo=demo, allow_prompt=allow_prompt and not demo)
    if is_demo:
        ctx.log.warning(
            "keys: using the DEMO-ONLY passphrase (demo config %s); never for real data",
            ctx.config.source,
        )
    return phrase


def open_for_run(ctx: JobContext) -> Keystore:
    """The keystore for a stage. Under a demo config a missing one is created without a
    prompt (PSEUDOLINK_PASSPHRASE or the announced demo passphrase)."""
    path = keystore_path(ctx)
    if not path.exists() and ctx.config.keys.demo:
        keystore = create(path, _passphrase(ctx, allow_prompt=False))
        ctx.log.info("keys: created a demo keystore in %s (key %s)", path, keystore.key_id)
        return keystore
    if next_path(ctx).exists():
        raise KeystoreError(
            f"{next_path(ctx)}: an unfinished `keys rotate`: run it again before other jobs"
        )
    return open_keystore(path, _passphrase(ctx))


def init(ctx: JobContext) -> Keystore:
    keystore = create(keystore_path(ctx), _passphrase(ctx))
    ctx.log.info("keys: new keystore %s (key %s)", keystore_path(ctx), keystore.key_id)
    ctx.audit.add("keys init", outputs=[_KEYSTORE_REL], key_id=keystore.key_id)
    return keystore


def verify(ctx: JobContext) -> dict[str, dict[str, int | str]]:
    """Open the keystore and check each key table: made with this key, one number per
    token, no number twice. Raises on a problem; returns the counts."""
    keystore = open_keystore(keystore_path(ctx), _passphrase(ctx))
    out: dict[str, dict[str, int | str]] = {}
    for domain in DOMAINS:
        path = ctx.catalog.key_table(domain)
        table = read_key_table(ctx.spark, path)
        if table is None:
            out[domain] = {"rows": 0, "state": "no key table yet"}
            continue
        ids = key_ids(table)
        if ids != [keystore.key_id]:
            raise KeystoreError(
                f"{path}: made with key {', '.join(ids)}, the keystore holds {keystore.key_id}"
            )
        counts = integrity(table)
        if not counts["rows"] == counts["tokens"] == counts["numbers"]:
            raise KeystoreError(
                f"{path}: {counts['rows']} rows, {counts['tokens']} distinct tokens, "
                f"{counts['numbers']} distinct numbers: every token needs exactly one number"
            )
        out[domain] = {**counts, "state": "ok"}
        ctx.log.info(
            "keys: %s: %s numbers, all distinct, key %s",
            domain,
            f"{counts['rows']:,}",
            keystore.key_id,
        )
    ctx.log.info("keys: keystore %s opens; key %s", keystore_path(ctx), keystore.key_id)
    ctx.audit.add(
        "keys verify",
        inputs=[_KEYSTORE_REL] + [f"trusted/keys/{d}" for d in DOMAINS],
        counts={d: c.get("rows", 0) for d, c in out.items()},
        key_id=keystore.key_id,
    )
    return out


def rotate(ctx: JobContext, identifiers: dict[str, DataFrame]) -> dict[str, int]:
    """A new secret; both key tables re-keyed, every sequence number kept.

    ``identifiers``: per domain, the known identifiers (column ``id``); every token of a
    key table must be the token of one of them, or nothing is changed."""
    phrase = _passphrase(ctx)
    old = open_keystore(keystore_path(ctx), phrase)
    staged = next_path(ctx)
    if staged.exists():
        new = open_keystore(staged, phrase)
        ctx.log.info("keys: finishing the rotation to key %s", new.key_id)
    else:
        new = new_keystore()
        save(staged, new, phrase)
    method = ctx.config.pseudonymise.method
    plans: dict[str, DataFrame] = {}
    for domain in DOMAINS:
        path = ctx.catalog.key_table(domain)
        table = read_key_table(ctx.spark, path)
        if table is None:
            continue
        ids = key_ids(table)
        if ids == [new.key_id]:
            continue  # done before a crash
        if ids != [old.key_id]:
            _abandon(staged)
            raise KeystoreError(f"{path}: made with key {', '.join(ids)}, not {old.key_id}")
        pick = Keystore.person_key if domain == "persons" else Keystore.household_key
        mapping = identifiers[domain].select(
            token(F.col("id"), pick(old), method).alias("token"),
            token(F.col("id"), pick(new), method).alias("new_token"),
        )
        rekeyed = table.join(mapping, "token", "left")
        missing = rekeyed.filter(F.col("new_token").isNull()).count()
        if missing:
            _abandon(staged)
            raise PseudolinkError(
                f"keys rotate: {missing} {domain} of {path} match no identifier in the "
                "trusted area, so their tokens cannot be re-keyed: nothing was changed"
            )
        plans[path] = rekeyed.select(
            F.col("new_token").alias("token"),
            "seq",
            F.lit(new.key_id).alias("key_id"),
            "assigned_at",
        )
    counts = {}
    for path, frame in plans.items():
        frame = frame.localCheckpoint()  # materialised: the table is overwritten below
        frame.write.format("delta").mode("overwrite").save(path)
        counts[path] = ctx.spark.read.format("delta").load(path).count()
    os.replace(staged, keystore_path(ctx))
    ctx.log.info("keys: rotated from key %s to %s", old.key_id, new.key_id)
    ctx.audit.add(
        "keys rotate",
        inputs=[_KEYSTORE_REL],
        outputs=[_KEYSTORE_REL] + [f"trusted/keys/{d}" for d in DOMAINS],
        counts={path.rsplit("/", 1)[-1]: n for path, n in counts.items()},
        old_key_id=old.key_id,
        key_id=new.key_id,
    )
    return counts


def _abandon(staged: Path) -> None:
    """Drop a staged new keystore no table uses yet."""
    staged.unlink(missing_ok=True)
