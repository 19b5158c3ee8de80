"""purge on a tiny hand-built root (its release packaged into the outbox): what it destroys
and keeps, on disk; its refusals (also without a complete package); a purge stopped
half-way and finished by a rerun; the stages that need destroyed data. On a copy of the
suite's shared root, after the whole pipeline (deliver, then purge): no file outside the
encrypted packages holds a KSZ or VDAB column or value, and what reads a purged root
(keys verify and rotate, reidentify, deliver, retention) still works."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil

import pytest
import tiny_root
from roots import job_context, run_pipeline_in_process
from shared import PASSPHRASE, RELEASE_ID
from tiny_root import KSZ_INSZ

from pseudolink.erasure import RETENTION_CHECK
from pseudolink.purged import PURGED_TABLES, PurgedError, purge_state
from pseudolink.stages import deliver, ingest, link, pseudonymise, purge

pytestmark = pytest.mark.slow

RELEASE_TABLES = [f"release/r1/{t}" for t in tiny_root.TABLES]
# The folders purge removes on the tiny root (besides the tables inside them).
FOLDERS = (
    "bronze/ksz",
    "bronze/vdab",
    "trusted/linked/ksz",
    "trusted/linked/vdab",
    "inbox/ksz",
    "inbox/vdab",
    "outbox/requests",
)


@pytest.fixture(scope="module")
def template(spark, tmp_path_factory, repo):
    """The tiny root, its release r1 packaged into outbox/r1 (deliver, as the pipeline does
    before purge) and an extraction request with an INSZ in outbox/requests/."""
    root = tmp_path_factory.mktemp("tiny") / "root"
    tiny_root.build(spark, root)
    request = root / "outbox" / "requests" / "request-2025-01"
    request.mkdir(parents=True)
    (request / "ksz_request.csv").write_text(f"insz;population\n{KSZ_INSZ};2016\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
        deliver.run(tiny_root.context(repo, root, spark), tiny_root.RID)
    return root


@pytest.fixture
def ctx(template, tmp_path, repo, spark, monkeypatch):
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
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


def test_purge_refused_unless_the_release_is_packaged_complete_in_the_outbox(ctx):
    """Purge destroys the plaintext release: its encrypted package must be complete first
    (package.json, its signature, every part with its size and SHA-256)."""
    root = root_of(ctx)
    package = root / "outbox" / "r1"
    payload = package / "payload.enc"
    data = bytearray(payload.read_bytes())
    data[100] ^= 1
    payload.write_bytes(bytes(data))
    with pytest.raises(purge.PurgeRefused, match="release r1 is not delivered.*payload.enc"):
        purge.run(ctx)
    shutil.rmtree(package)
    with pytest.raises(purge.PurgeRefused) as refused:
        purge.run(ctx)
    message = str(refused.value)
    assert "missing" in message and "outbox/r1/package.json" in message
    assert "run deliver --release-id r1" in message and "Nothing was destroyed" in message
    assert purge_state(ctx) is None and (root / "release" / "r1" / "ksz" / "_delta_log").exists()
    assert (root / "trusted" / "pseudonymised" / "ksz_quarterly" / "_delta_log").exists()


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
    gone = [
        *FOLDERS,
        *[f"trusted/pseudonymised/{t}" for t in PURGED_TABLES],
        *RELEASE_TABLES,
    ]
    for path in gone:
        assert not (root / path).exists(), path
    quarantine = spark.read.format("delta").load(str(root / "bronze" / "_quarantine"))
    assert sorted(r["source"] for r in quarantine.collect()) == ["statbel", "statbel"]
    for zone in ("bronze", "trusted", "inbox", "release", "outbox"):
        assert tiny_root.files_containing(root / zone, KSZ_INSZ) == [], zone
    steps = done["steps"]["bronze/_quarantine"]
    assert steps[:3] == ["DELETE", "REORG APPLY (PURGE)", "VACUUM RETAIN 0 HOURS"]
    for table in ("trusted/linked/vdab/vdab_quarterly", "trusted/pseudonymised/vdab_employment"):
        assert "VACUUM RETAIN 0 HOURS" in done["steps"][table], table
    assert done["steps"]["release/r1/persons"][-1].startswith("folder removed")
    assert spark.conf.get(RETENTION_CHECK, None) is None  # off for the VACUUM alone
    kept = (
        "bronze/statbel/demobel",
        "trusted/pseudonymised/populations",
        "trusted/pseudonymised/moves",
        "trusted/keys/persons",
    )
    for path in kept:
        assert (root / path / "_delta_log").exists(), path
    # The release's reports stay (counts, no rows); its encrypted package is the only copy.
    release = root / "release" / "r1"
    assert sorted(p.name for p in release.iterdir()) == ["dictionary.md", "manifest.json", "scra"]
    assert (root / "outbox" / "r1" / "package.json").exists()
    assert (root / "inbox" / "statbel").exists()
    (note,) = [s for s in ctx.audit.stages if s["stage"] == "purge"]
    assert note["counts"]["bronze/ksz/ksz_quarterly"]["rows"] == 3
    assert note["counts"]["trusted/pseudonymised/ksz_quarterly"]["rows"] == 2
    assert note["counts"]["release/r1/ksz"]["rows"] == 40
    assert note["counts"]["inbox/ksz"]["files"] == 2
    assert note["counts"]["outbox/requests"]["files"] == 1
    assert note["counts"]["total"]["tables"] == 2 + 4 + 4 + len(RELEASE_TABLES)
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
    assert set(PURGED_TABLES) == {r.kind for r in link.RULES if r.source in ("ksz", "vdab")}


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
        *[f"trusted/pseudonymised/{t}" for t in PURGED_TABLES],
        *RELEASE_TABLES,
        "bronze/_quarantine",
        *FOLDERS,
    }
    ksz = by_path["bronze/ksz/ksz_quarterly"]
    assert ksz["rows"] == 3 and ksz["files"] == len(ksz["listing"]) == 3
    assert by_path["bronze/ksz"]["files"] == 0  # its table is listed on its own
    on_disk = (root / "bronze" / "ksz" / "ksz_quarterly" / ksz["listing"][0]["path"]).read_bytes()
    assert hashlib.sha256(on_disk).hexdigest() == ksz["listing"][0]["sha256"]
    assert by_path["bronze/_quarantine"]["rows"] == 2
    assert KSZ_INSZ not in json.dumps(listed)


def test_the_pipeline_on_a_purged_root_reuses_the_package_and_makes_no_release(
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
    assert not (root / "release" / "r1" / "ksz").exists()
    assert (root / "outbox" / "r1" / "package.json").exists()
    assert "deliver: " in caplog.text and "exists and checks out: reused" in caplog.text
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


# --- The whole pipeline on a copy of the shared root: deliver, then purge ------------------

ACTION_ID = re.compile(r"A\d{11}")
RAW_LINE = re.compile(r"\d{11};[^\"\n\r\\]*")  # an INSZ-led delivery line, also inside JSON


def ksz_vdab_columns(conf_dir) -> set[str]:
    """The column names of the KSZ and VDAB schemas that no Statbel schema has (but
    ``quarter``, a time column any table may have: the self-check's synthetic one has)."""
    from pseudolink.schemas import load_source

    def names(source: str) -> set[str]:
        return {c.name for f in load_source(conf_dir, source).files.values() for c in f.columns}

    return (names("ksz") | names("vdab")) - names("statbel") - {"quarter"}


def delivered_values(root) -> dict:
    """From the KSZ and VDAB deliveries in the inbox: every data line as delivered, every
    VDAB action id, and per INSZ the non-empty values of each of its rows (a row of any
    table holding all of them is that delivered row): nothing that matches by chance."""
    lines, actions, rows = set(), set(), {}
    for source in ("ksz", "vdab"):
        for path in sorted((root / "inbox" / source).glob("*/*.csv.gz")):
            header, *body = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
            columns = header.split(";")
            for line in filter(None, body):
                lines.add(line)
                values = dict(zip(columns, line.split(";"), strict=False))
                if values.get("action_id"):
                    actions.add(values["action_id"])
                row = frozenset(v for v in values.values() if v)
                rows.setdefault(values["insz"], []).append(row)
    assert len(lines) > 1000 and len(actions) > 10
    return {"lines": lines, "actions": actions, "rows": rows}


def parquet_findings(path, columns: set[str], probes: dict) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    found = [f"column {c}" for c in sorted(columns & set(table.schema.names))]
    for row in table.to_pylist():
        values = {str(v) for v in row.values() if v is not None}
        for v in values:
            if v in probes["lines"] or set(ACTION_ID.findall(v)) & probes["actions"]:
                found.append(f"value {v[:40]!r}")
        for v in values & probes["rows"].keys():
            if any(r <= values for r in probes["rows"][v]):
                found.append(f"a delivered row of INSZ {v[:4]}...")
        if len(found) > 5:
            break
    return found


def text_findings(path, columns: set[str], probes: dict) -> list[str]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    text = data.decode("utf-8", errors="replace")
    found = [f"line {m[:40]!r}" for m in RAW_LINE.findall(text) if m in probes["lines"]]
    found += [f"action id {a}" for a in set(ACTION_ID.findall(text)) & probes["actions"]]
    if path.parent.name == "_delta_log" and path.suffix == ".json":
        for action in map(json.loads, filter(None, text.splitlines())):
            schema = action.get("metaData", {}).get("schemaString")
            if schema:
                names = {f["name"] for f in json.loads(schema)["fields"]}
                found += [f"Delta schema column {c}" for c in sorted(columns & names)]
    return found


def ksz_vdab_on_disk(root, columns: set[str], probes: dict) -> dict[str, list[str]]:
    """Per file under ``root`` (the encrypted packages in outbox/ excepted): the KSZ or
    VDAB column names in its Parquet or Delta schema and the delivered values in it."""
    packages = [p.parent for p in (root / "outbox").glob("*/package.json")]
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if any(path.is_relative_to(p) for p in packages):
            continue
        if path.name.endswith(".crc") and path.name.startswith("."):
            continue  # Hadoop's checksum of the file beside it
        if path.suffix == ".parquet":
            found = parquet_findings(path, columns, probes)
        else:
            found = text_findings(path, columns, probes)
        if found:
            out[str(path.relative_to(root))] = found[:5]
    return out


@pytest.fixture(scope="module")
def pipeline_purged(shared, spark, tmp_path_factory):
    """The whole pipeline on a copy of the shared root (stopped after the release): deliver,
    then purge. (ctx, root, run, log, the delivered values, the KSZ/VDAB columns)."""
    probes = delivered_values(shared.root)
    columns = ksz_vdab_columns(shared.ctx.config.conf_dir)
    # The scan finds the data where they are (it can fail): on the shared root itself.
    bronze = next((shared.root / "bronze" / "ksz" / "ksz_quarterly").rglob("*.parquet"))
    assert "column socio_economic_position" in parquet_findings(bronze, columns, probes)
    assert any(f.startswith("a delivered row") for f in parquet_findings(bronze, columns, probes))
    activation = next((shared.root / "trusted/linked/vdab/vdab_activation").rglob("*.parquet"))
    assert any(f.startswith("value 'A") for f in parquet_findings(activation, columns, probes))
    inbox = next((shared.root / "inbox" / "vdab").glob("*/vdab_quarterly-*.csv.gz"))
    assert text_findings(inbox, columns, probes)
    root = tmp_path_factory.mktemp("pipeline-purged") / "root"
    ctx = shared.copy(root, spark)
    result, log = run_pipeline_in_process(ctx)
    return ctx, root, result, log, probes, columns


def test_after_the_pipeline_no_file_outside_the_packages_holds_ksz_or_vdab_data(pipeline_purged):
    ctx, root, result, log, probes, columns = pipeline_purged
    assert result.ran[-2:] == ["deliver", "purge"]
    assert (root / "outbox" / RELEASE_ID / "package.json").exists()
    assert purge_state(ctx)["state"] == "done"
    assert ksz_vdab_on_disk(root, columns, probes) == {}
    assert not (root / "outbox" / "requests").exists()
    # What stays: Statbel's data, the populations, Statbel's pseudonymised tables, the key
    # tables and keystore, the release's reports, the audit log, the package.
    for kept in (
        "bronze/statbel/demobel/_delta_log",
        "trusted/linked/statbel/census/_delta_log",
        "trusted/populations/membership/_delta_log",
        "trusted/pseudonymised/populations/_delta_log",
        "trusted/pseudonymised/demobel/_delta_log",
        "trusted/keys/persons/_delta_log",
        "trusted/keystore/keystore.json",
        f"release/{RELEASE_ID}/manifest.json",
        f"release/{RELEASE_ID}/scra/scra.json",
        f"release/{RELEASE_ID}/dictionary.md",
    ):
        assert (root / kept).exists(), kept
    assert sorted(p.name for p in (root / "release" / RELEASE_ID).iterdir()) == [
        "dictionary.md",
        "manifest.json",
        "scra",
    ]
    # purge reports what it destroyed: a log line per table or folder, the counts in its
    # audit event and marker.
    summary = purge_state(ctx)["summary"]
    for path in (
        "bronze/ksz/ksz_quarterly",
        "trusted/linked/vdab/vdab_activation",
        *[f"trusted/pseudonymised/{t}" for t in PURGED_TABLES],
        f"release/{RELEASE_ID}/ksz",
        f"release/{RELEASE_ID}/persons",
        "inbox/ksz",
        "outbox/requests",
    ):
        assert summary[path]["files"] > 0, path
        assert f"purge: {path} destroyed (" in log, path
    assert summary["trusted/pseudonymised/ksz_quarterly"]["rows"] > 0
    (note,) = [s for s in ctx.audit.stages if s["stage"] == "purge"]
    assert note["counts"]["total"]["rows"] == sum(s["rows"] or 0 for s in summary.values())
    assert note["counts"]["total"]["tables"] == sum(s["kind"] == "table" for s in summary.values())
    assert "purge: destroyed " in log and "Delta tables" in log


def test_a_corrected_re_release_after_the_purge_leaves_out_what_was_destroyed(
    pipeline_purged, shared, spark, tmp_path
):
    """§7: the study is one-off. With --corrected-rerelease a new release is made from what
    is left (Statbel's tables); the KSZ and VDAB tables, destroyed, are left out and named
    in the manifest; the reason goes to the audit event."""
    from pseudolink.stages import release

    _, root, _, _, _, _ = pipeline_purged
    copy = tmp_path / "root"
    shutil.copytree(root, copy, symlinks=True)
    ctx = job_context(shared.conf, copy, spark)
    outcome = release.run(ctx, "corrected-1", "a wrong class in the first release")
    assert outcome.verdict == "pass"
    assert sorted(outcome.left_out) == ["ksz", "vdab", "vdab_activation", "vdab_employment"]
    manifest = json.loads((copy / "release" / "corrected-1" / "manifest.json").read_text())
    assert sorted(manifest["left_out"]["tables"]) == sorted(outcome.left_out)
    assert not set(manifest["tables"]) & set(outcome.left_out)
    event = ctx.audit.stages[-1]
    assert event["stage"] == "release"
    assert event["corrected_rerelease"] == "a wrong class in the first release"


def test_a_purged_root_still_serves_keys_reidentify_deliver_and_retention(
    pipeline_purged, monkeypatch
):
    import datetime as dt

    from pseudolink.stages import keys, reidentify, retention

    ctx, root, _, _, _, _ = pipeline_purged
    monkeypatch.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    verified = keys.verify(ctx)
    assert verified["persons"]["state"] == "ok" and verified["persons"]["rows"] > 0
    reason = "a documented legal reason"
    answer = reidentify.run(ctx, "persons", [1, 2], reason, "case-1", "approver")
    assert len(answer.read_text().splitlines()) == 3  # header and both numbers
    again = deliver.run(ctx, RELEASE_ID)  # the package is checked and reused
    assert again["release_id"] == RELEASE_ID
    # (after a rotation the signing key is another: deliver would no longer reuse it)
    keys.rotate(ctx, pseudonymise.identifiers(pseudonymise.tables(ctx)))
    assert keys.verify(ctx)["persons"]["rows"] == verified["persons"]["rows"]
    done = retention.run(ctx, today=dt.date(2034, 1, 1))
    assert [d["release_id"] for d in done["destroyed"]] == [RELEASE_ID]
    assert not (root / "release" / RELEASE_ID).exists()
    assert not (root / "outbox" / RELEASE_ID).exists()
