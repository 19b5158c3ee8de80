"""The benchmark job on copies of the suite's shared root: its figures are written for
every stage it times, both variants are timed side by side, and a rerun reuses the
generated data but starts again from the inbox."""

from __future__ import annotations

import json
import shutil

import pytest
from roots import SHARED_PERSONS, job_context
from shared import PASSPHRASE

from pseudolink.errors import InputError
from pseudolink.stages import benchmark

N = SHARED_PERSONS


def as_benchmark_root(shared, target, spark):
    """A copy of the shared root marked as the benchmark's own (its generate.json, as
    ``benchmark --generate-only`` writes it): (ctx, rows generated)."""
    ctx = shared.copy(target, spark, "benchmark")
    manifests = (target / "inbox").glob("*/*/manifest.json")
    rows = sum(f["rows"] for m in manifests for f in json.loads(m.read_text())["files"])
    marker = target / benchmark.MARKER
    marker.mkdir()
    made = {"persons": N, "rows": rows, "seconds": 1.0, "rows_per_second": rows}
    (marker / "generate.json").write_text(json.dumps(made))
    return ctx, rows


@pytest.fixture(scope="module")
def from_release(shared, spark, tmp_path_factory):
    """``benchmark --from-release --variants`` on a copy: the release, the variants (both
    token methods, the KSZ link by both joins), deliver and purge timed. (ctx, root,
    results). The figures of ingest, link and pseudonymise come from the same ``_stage``
    helper; ingest's are checked below on one delivery."""
    root = tmp_path_factory.mktemp("bench") / "root"
    ctx, _ = as_benchmark_root(shared, root, spark)
    mp = pytest.MonkeyPatch()
    mp.setenv("PSEUDOLINK_PASSPHRASE", PASSPHRASE)
    try:
        results = benchmark.run(ctx, N, variants=True, start="release")
    finally:
        mp.undo()
    return ctx, root, results


def test_benchmark_writes_the_figures_of_every_stage_it_times(from_release):
    ctx, root, first = from_release
    saved = json.loads((root / "_benchmark" / f"benchmark-{N}.json").read_text())
    assert saved == json.loads(json.dumps(first))
    names = [s["stage"] for s in saved["stages"]]
    assert saved["persons"] == N
    assert names == ["release", "deliver", "purge"]
    release_stage, deliver_stage, purge_stage = saved["stages"]
    assert release_stage["verdict"] == "pass" and release_stage["rounds"] >= 1
    assert release_stage["rows_in"] > 0 and set(release_stage["below_k"]) >= {"demographics"}
    assert 0 <= release_stage["suppressed_share"] <= 1 and release_stage["levels"]
    # The release shuffles (joins, aggregations): its bytes are measured.
    assert all(st["shuffle_write_mb"] >= 0 for st in saved["stages"])
    assert sum(st["shuffle_write_mb"] for st in saved["stages"]) > 0
    assert all(st["driver_jvm_peak_mb"] > 100 for st in saved["stages"])
    assert release_stage["executor_heap_peak_mb"] > 10
    # After a release that passes: deliver (to the outbox), with the package size, then
    # purge: the bronze, linked and pseudonymised KSZ and VDAB tables (4 each) and every
    # table of the plaintext release, each listed with its rows and files.
    rid = f"benchmark-{N}"
    released = json.loads((root / "release" / rid / "manifest.json").read_text())["tables"]
    assert purge_stage["rows_in"] > 0 and purge_stage["tables"] == 4 + 4 + 4 + len(released)
    destroyed = purge_stage["destroyed"]
    for path in ("trusted/pseudonymised/ksz_quarterly", f"release/{rid}/ksz", "outbox/requests"):
        assert destroyed[path]["files"] > 0, path
    assert destroyed[f"release/{rid}/ksz"]["rows"] == released["ksz"]["rows"]
    assert not (root / "bronze" / "ksz").exists() and not (root / "trusted/linked/ksz").exists()
    assert not (root / "release" / rid / "ksz").exists()
    assert (root / "outbox" / rid / "package.json").exists()
    assert deliver_stage["package_bytes"] > deliver_stage["release_bytes"] > 0
    table = (root / "_benchmark" / f"benchmark-{N}.md").read_text()
    for stage in names:
        assert f"| {stage} |" in table
    assert "| whole pipeline (" in table
    assert f"Package: {deliver_stage['package_bytes']:,} bytes" in table
    # --variants: both token methods and both joins timed side by side.
    tokens = first["variants"]["tokens"]
    assert set(tokens) == {"udf", "native"}
    assert tokens["udf"]["identifiers"] == tokens["native"]["identifiers"] > 0
    joins = first["variants"]["link_ksz"]
    assert "BroadcastHashJoin" in joins["broadcast"]["plan"]
    assert "SortMergeJoin" in joins["merge"]["plan"]
    assert joins["broadcast"]["linked"] == joins["merge"]["linked"] > 0
    assert "| tokens, udf (variant) |" in table and "| link KSZ, merge join" in table


def test_reruns_reuse_the_data_and_start_again_from_the_inbox(
    from_release, spark, shared, tmp_path
):
    """On a copy of the purged benchmark root: --from-release and --from-link need the
    tables the purge took; a rerun reuses the generated data and removes every derived
    zone; another size is refused."""
    _, root, first = from_release
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    ctx = job_context(shared.conf, copy, spark, "benchmark")
    rows = first["generate"]["rows"]
    for start in ("release", "link"):
        with pytest.raises(InputError, match="purge destroyed the bronze, linked and pseudo"):
            benchmark.prepare_root(ctx, N, keep_derived=start)
    assert (copy / "trusted" / "populations").exists()  # refused: nothing removed
    again = benchmark.prepare_root(ctx, N)
    assert again["reused"] is True and again["rows"] == rows
    assert not (copy / "bronze").exists() and not (copy / "trusted").exists()
    assert (copy / "inbox").exists()
    with pytest.raises(InputError, match=f"generated for {N} persons"):
        benchmark.prepare_root(ctx, N + 1)
    # --generate-only on data that are there: checked, reused, nothing removed.
    (copy / "release" / "kept").mkdir(parents=True)
    made = benchmark.ensure_data(ctx, N)
    assert made["reused"] is True and made["rows"] == rows
    assert (copy / "release" / "kept").exists()
    with pytest.raises(InputError, match=f"generated for {N} persons"):
        benchmark.ensure_data(ctx, N + 1)


def test_an_inbox_not_made_by_the_benchmark_is_refused(shared, spark, tmp_path):
    ctx = shared.copy(tmp_path / "root", spark, "benchmark")
    with pytest.raises(InputError, match="not made by the benchmark"):
        benchmark.prepare_root(ctx, N)


def test_ingest_figures_and_the_parse_only_pass(shared, spark, tmp_path):
    """The ingest's figures (rows, phases, memory) and the parse-only pass, on a root that
    holds the shared root's VDAB delivery alone."""
    root = tmp_path / "root"
    shutil.copytree(shared.root / "inbox" / "vdab", root / "inbox" / "vdab")
    ctx = job_context(shared.conf, root, spark, "benchmark")
    stage = benchmark._ingest(ctx)
    manifest = next((root / "inbox" / "vdab").glob("*/manifest.json"))
    rows = sum(f["rows"] for f in json.loads(manifest.read_text())["files"])
    assert stage["stage"] == "ingest" and stage["rows_in"] == stage["rows_out"] == rows > 0
    assert set(stage["phases"]) == set(benchmark.PHASES) and stage["driver_jvm_peak_mb"] > 100
    assert benchmark.parse_only(ctx)["lines"] == rows + len(
        json.loads(manifest.read_text())["files"]
    )  # one header line per file
