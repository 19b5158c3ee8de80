"""The benchmark job on a tiny population (the suite's small reference run, see conftest):
its figures are written, and a rerun reuses the generated data but starts again from the
inbox."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest

from pseudolink.cli import JobContext
from pseudolink.config import load_config
from pseudolink.errors import InputError
from pseudolink.stages import benchmark

pytestmark = pytest.mark.slow


def test_benchmark_writes_figures_and_reruns_from_the_inbox(small_reference, spark, tmp_path):
    ctx, root, conf, first = small_reference
    saved = json.loads((root / "_benchmark" / "benchmark-200.json").read_text())
    names = [s["stage"] for s in saved["stages"]]
    assert saved["persons"] == 200 and names[:5] == [
        "ingest",
        "cohorts",
        "link",
        "pseudonymise",
        "release",
    ]
    # After a release that passes: purge and deliver (to the outbox), with the package size.
    passed = saved["stages"][4]["verdict"] == "pass"
    assert names[5:] == (["purge", "deliver"] if passed else [])
    ingest_stage = saved["stages"][0]
    assert ingest_stage["rows_in"] == first["generate"]["rows"] == ingest_stage["rows_out"]
    assert set(ingest_stage["phases"]) == {"parse", "reconcile", "write"}
    assert ingest_stage["driver_jvm_peak_mb"] > 100
    assert ingest_stage["executor_heap_peak_mb"] > 10
    # The link and the release shuffle (joins, aggregations): their bytes are measured.
    assert all(st["shuffle_write_mb"] >= 0 for st in saved["stages"])
    assert sum(st["shuffle_write_mb"] for st in saved["stages"]) > 0
    assert saved["parse_only_pass"]["lines"] > first["generate"]["rows"]  # with headers
    table = (root / "_benchmark" / "benchmark-200.md").read_text()
    assert (
        "| ingest |" in table
        and "| cohorts |" in table
        and "| whole pipeline (ingest, cohorts" in table
    )
    link_stage, pseudo_stage = saved["stages"][2], saved["stages"][3]
    assert len(link_stage["tables"]) == 7 and link_stage["rows_in"] > link_stage["rows_out"] > 0
    assert pseudo_stage["domains"]["persons"]["added"] > 0
    release_stage = saved["stages"][4]
    assert release_stage["verdict"] in ("pass", "fail") and release_stage["rounds"] >= 1
    assert release_stage["rows_in"] > 0 and "small_cells_before" in release_stage
    assert "| release |" in table
    if passed:
        purge_stage, deliver_stage = saved["stages"][5], saved["stages"][6]
        assert purge_stage["rows_in"] > 0 and purge_stage["tables"] == 9
        assert not (tmp_path / "b" / "bronze" / "ksz").exists()
        assert deliver_stage["package_bytes"] > deliver_stage["release_bytes"] > 0
        assert f"Package: {deliver_stage['package_bytes']:,} bytes" in table
    # --variants: both token methods and both joins timed side by side.
    tokens = first["variants"]["tokens"]
    assert set(tokens) == {"udf", "native"}
    assert tokens["udf"]["identifiers"] == tokens["native"]["identifiers"] > 0
    joins = first["variants"]["link_ksz"]
    assert "BroadcastHashJoin" in joins["broadcast"]["plan"]
    assert "SortMergeJoin" in joins["merge"]["plan"]
    assert joins["broadcast"]["linked"] == joins["merge"]["linked"] > 0
    table = (root / "_benchmark" / "benchmark-200.md").read_text()
    assert "| tokens, udf (variant) |" in table and "| link KSZ, merge join" in table
    # On a copy (the reference stays for the cluster and fault tests): --from-release keeps
    # the populations; --from-link needs the bronze tables a purge took. A rerun reuses the
    # generated data and starts again from the inbox.
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    ctx = JobContext("benchmark", argparse.Namespace(), load_config(conf, root=str(copy)), ctx.log)
    ctx.__dict__["spark"] = spark
    kept = benchmark.prepare_root(ctx, 200, keep_derived="release")
    assert kept["reused"] is True and (copy / "trusted" / "populations").exists()
    if passed:
        with pytest.raises(InputError, match="purge destroyed the bronze"):
            benchmark.prepare_root(ctx, 200, keep_derived="link")
    again = benchmark.prepare_root(ctx, 200)
    assert again["reused"] is True and again["rows"] == first["generate"]["rows"]
    assert not (copy / "bronze").exists() and (copy / "inbox").exists()
    with pytest.raises(InputError, match="generated for 200 persons"):
        benchmark.prepare_root(ctx, 300)
    # --generate-only on data that are there: checked, reused, nothing removed.
    (copy / "release" / "kept").mkdir(parents=True)
    made = benchmark.ensure_data(ctx, 200)
    assert made["reused"] is True and made["rows"] == first["generate"]["rows"]
    assert (copy / "release" / "kept").exists()
    with pytest.raises(InputError, match="generated for 200 persons"):
        benchmark.ensure_data(ctx, 300)
