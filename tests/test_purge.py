"""purge on a tiny hand-built root: what it destroys and keeps, on disk; its refusals; a
purge stopped half-way and finished by a rerun; the stages that need destroyed data."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import tiny_root
from tiny_root import KSZ_INSZ

from pseudolink.erasure import RETENTION_CHECK
from pseudolink.purged import PurgedError, purge_state
from pseudolink.stages import ingest, link, pseudonymise, purge

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "root"
    tiny_root.build(spark, root)
    return root


@pytest.fixture
def ctx(template, tmp_path, repo, spark):
    root = tiny_root.copy(template, tmp_path / "root")
    return tiny_root.context(repo, root, spark)


def root_of(ctx):
    from pseudolink.config import uri_to_local_path

    return uri_to_local_path(ctx.config.root)


def test_purge_refused_before_the_linkage_finished_destroys_nothing(ctx):
    root = root_of(ctx)
    (root / "trusted" / "linked" / "_report.json").unlink()
    with pytest.raises(purge.PurgeRefused) as refused:
        purge.run(ctx)
    message = str(refused.value)
    assert "linkage has not finished" in message and "_report.json" in message
    assert "Nothing was destroyed" in message and "run link" in message
    assert (root / "bronze" / "ksz" / "ksz_quarterly" / "_delta_log").exists()
    assert (root / "inbox" / "ksz").exists() and purge_state(ctx) is None
    assert not list((root / "trusted").glob("audit/purge-inventory-*"))


def test_purge_refused_without_a_release_or_pseudonymised_tables(ctx, spark):
    root = root_of(ctx)
    with pytest.raises(purge.PurgeRefused, match="no release was made.*release/other"):
        purge.run(ctx, "other")
    pseudo = root / "trusted" / "pseudonymised" / "ksz_quarterly"
    one = spark.createDataFrame(
        [("x", "2016", "2016Q1")], "insz string, population string, period string"
    )
    one.write.format("delta").mode("overwrite").save(str(pseudo))
    with pytest.raises(purge.PurgeRefused, match=r"pseudonymisation has not finished.*1 rows of 2"):
        purge.run(ctx)
    assert purge_state(ctx) is None and (root / "bronze" / "ksz").exists()


def test_a_delivery_ingested_after_the_link_stops_the_purge(ctx, spark):
    root = root_of(ctx)
    spark.createDataFrame([("90010112399", "2017Q1")], "insz string, period string").write.format(
        "delta"
    ).mode("append").save(str(root / "bronze" / "ksz" / "ksz_quarterly"))
    with pytest.raises(purge.PurgeRefused, match="has 4 rows, the linkage read 3"):
        purge.run(ctx)


@pytest.fixture(scope="module")
def purged(template, tmp_path_factory, repo, spark):
    """A purge stopped after its first table, as a kill would, then finished by a rerun:
    (ctx, root, what the stopped purge left, the rerun's outcome)."""
    root = tiny_root.copy(template, tmp_path_factory.mktemp("purged") / "root")
    ctx = tiny_root.context(repo, root, spark)
    before = tiny_root.files_containing(root / "bronze" / "_quarantine", KSZ_INSZ)
    fs = purge.HadoopFs(spark)
    found = purge.targets(ctx, fs)
    release_id = purge.check_ready(ctx, fs, None, {})
    listed = purge.inventory(ctx, fs, found, release_id)
    purge.destroy(ctx, fs, [t for t in found if t.kind == "table"][:1])
    summary = {
        e["path"]: {k: e[k] for k in ("kind", "rows", "files", "bytes")} for e in listed["targets"]
    }
    purge.write_state(
        ctx,
        {
            "state": "started",
            "started": "2026-01-01T00:00:00+00:00",
            "release_id": release_id,
            "inventory": "trusted/audit/purge-inventory-x.json",
            "inventory_sha256": "0" * 64,
            "summary": summary,
        },
    )
    with pytest.raises(PurgedError, match="has not finished: run ./spark-submit.sh purge again"):
        link.run(ctx)
    done = purge.run(ctx)  # the rerun skips the checks (linked data may be gone) and finishes
    return ctx, root, before, done


def test_a_stopped_purge_is_finished_by_a_rerun_and_nothing_is_left(purged, spark):
    ctx, root, before, done = purged
    assert before  # the KSZ number was in the quarantine's files: the test can fail
    assert done["state"] == "done" and purge_state(ctx)["state"] == "done"
    for gone in ("bronze/ksz", "bronze/vdab", "trusted/linked/ksz", "trusted/linked/vdab"):
        assert not (root / gone).exists(), gone
    assert not (root / "inbox" / "ksz").exists() and not (root / "inbox" / "vdab").exists()
    quarantine = spark.read.format("delta").load(str(root / "bronze" / "_quarantine"))
    assert sorted(r["source"] for r in quarantine.collect()) == ["statbel", "statbel"]
    for zone in ("bronze", "trusted/linked", "inbox", "release"):
        assert tiny_root.files_containing(root / zone, KSZ_INSZ) == [], zone
    steps = done["steps"]["bronze/_quarantine"]
    assert steps[:3] == ["DELETE", "REORG APPLY (PURGE)", "VACUUM RETAIN 0 HOURS"]
    assert "VACUUM RETAIN 0 HOURS" in done["steps"]["trusted/linked/vdab/vdab_quarterly"]
    assert spark.conf.get(RETENTION_CHECK, None) is None  # off for the VACUUM alone
    kept = ("bronze/statbel/demobel", "trusted/pseudonymised/ksz_quarterly", "trusted/keys/persons")
    for path in (*kept, "release/r1/ksz"):
        assert (root / path / "_delta_log").exists(), path
    assert (root / "inbox" / "statbel").exists()
    (note,) = [s for s in ctx.audit.stages if s["stage"] == "purge"]
    assert note["counts"]["bronze/ksz/ksz_quarterly"]["rows"] == 3
    assert note["counts"]["inbox/ksz"]["files"] == 2
    assert note["release_id"] == "r1"
    assert purge.run(ctx)["already"] is True


def test_stages_that_need_destroyed_data_refuse_after_a_purge(purged):
    ctx, root, _, _ = purged
    with pytest.raises(PurgedError, match="link needs the bronze KSZ and VDAB tables"):
        link.run(ctx)
    with pytest.raises(PurgedError, match="pseudonymise needs the linked KSZ and VDAB") as e:
        pseudonymise.run(ctx)
    assert "release r1" in str(e.value) and "nothing was done" in str(e.value)
    new = root / "inbox" / "ksz" / "ksz-2"
    new.mkdir(parents=True)
    manifest = {
        "format": "pseudolink-delivery/1",
        "source": "ksz",
        "delivery_id": "ksz-2",
        "sender": "KSZ",
        "period": {"from": "2013-01-01", "to": "2024-12-31"},
        "files": [
            {"name": "k-0000.csv.gz", "kind": "ksz_quarterly", "rows": 0, "sha256": "0" * 64}
        ],
    }
    (new / "manifest.json").write_text(json.dumps(manifest))
    (new / "k-0000.csv.gz").write_bytes(b"")
    try:
        with pytest.raises(PurgedError, match="ingest of ksz/ksz-2: the KSZ and VDAB data"):
            ingest.run(ctx, delivery="ksz-2")
    finally:
        shutil.rmtree(root / "inbox" / "ksz")
    assert not (root / "bronze" / "ksz").exists()
    # keys rotate and reidentify still find every identifier without the KSZ/VDAB tables
    assert set(pseudonymise.tables(ctx)) == {"populations", "moves", "census", "demobel", "adi"}


def test_a_new_purge_writes_an_inventory_of_every_file_before_destroying(ctx):
    root = root_of(ctx)
    fs = purge.HadoopFs(ctx.spark)
    found = purge.targets(ctx, fs)
    listed = purge.inventory(ctx, fs, found, "r1")
    by_path = {t["path"]: t for t in listed["targets"]}
    assert set(by_path) == {
        "bronze/ksz/ksz_quarterly",
        "bronze/vdab/vdab_quarterly",
        "trusted/linked/ksz/ksz_quarterly",
        "trusted/linked/vdab/vdab_quarterly",
        "trusted/linked/vdab/vdab_activation",
        "trusted/linked/vdab/vdab_employment",
        "bronze/_quarantine",
        "bronze/ksz",
        "bronze/vdab",
        "trusted/linked/ksz",
        "trusted/linked/vdab",
        "inbox/ksz",
        "inbox/vdab",
    }
    ksz = by_path["bronze/ksz/ksz_quarterly"]
    assert ksz["rows"] == 3 and ksz["files"] == len(ksz["listing"]) == 3
    assert by_path["bronze/ksz"]["files"] == 0  # its table is listed on its own
    on_disk = (root / "bronze" / "ksz" / "ksz_quarterly" / ksz["listing"][0]["path"]).read_bytes()
    assert hashlib.sha256(on_disk).hexdigest() == ksz["listing"][0]["sha256"]
    assert by_path["bronze/_quarantine"]["rows"] == 2
    assert KSZ_INSZ not in json.dumps(listed)


def test_the_pipeline_on_a_purged_root_skips_to_deliver_and_makes_no_release(
    purged, repo, caplog, capsys, monkeypatch
):
    import importlib.util

    ctx, root, _, _ = purged
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", "a test passphrase, not the demo one")
    spec = importlib.util.spec_from_file_location("pipeline_job", repo / "jobs" / "pipeline.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    releases = sorted(p.name for p in (root / "release").iterdir())
    with caplog.at_level("INFO", logger="pseudolink"):
        assert job.main(ctx) == 0
    assert "finished before it: skipped" in caplog.text
    assert sorted(p.name for p in (root / "release").iterdir()) == releases == ["r1"]
    assert (root / "outbox" / "r1" / "package.json").exists()
    assert not (root / "bronze" / "ksz").exists() and not (root / "inbox" / "ksz").exists()
    out = capsys.readouterr().out
    assert "package:" in out and "demo decrypt:" in out
    stages = [s["stage"] for s in ctx.audit.stages]
    assert stages[-2:] == ["selfcheck", "deliver"] and "release" not in stages


def test_a_table_emptied_of_its_rows_gets_a_fresh_log_and_no_unused_file(spark, tmp_path):
    from pseudolink.erasure import deletion_vectors_on, erase, leftover_files, rewrite_log

    path = str(tmp_path / "quarantine")
    rows = [("ksz", f"{KSZ_INSZ};x"), ("vdab", "90010112345;y")]
    spark.createDataFrame(rows, "source string, raw_line string").coalesce(1).write.format(
        "delta"
    ).save(path)
    spark.sql(
        f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
    )
    steps = erase(spark, path, purge.CONDITION)["steps"]
    assert "REORG APPLY (PURGE)" in steps
    rewrite_log(spark, purge.HadoopFs(spark), path)
    assert spark.read.format("delta").load(path).count() == 0
    assert leftover_files(spark, purge.HadoopFs(spark), path) == []
    assert tiny_root.files_containing(tmp_path, KSZ_INSZ) == []
    assert deletion_vectors_on(spark, path)  # the table keeps its properties
