"""The check-output job as spark-submit runs it: arguments, files written, verdicts printed,
exit codes; in-process on the suite's SparkSession (plus one --help through the script)."""

from __future__ import annotations

import importlib.util
import json
import subprocess

import pandas as pd
import pytest
from test_outputcheck import TWO_WAY

from pseudolink import cli


def _job(repo):
    spec = importlib.util.spec_from_file_location(
        "check_output_job", repo / "jobs" / "check-output.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_job(repo, spark, *argv):
    """The job as spark-submit runs it (arguments, errors, exit code), on the suite's session."""
    job = _job(repo)

    def main(ctx):
        ctx.__dict__["spark"] = spark
        return job.main(ctx)

    with pytest.raises(SystemExit) as info:
        cli.run(
            job.__doc__,
            job.add_arguments,
            main,
            argv=["--conf", str(repo / "conf/local.yaml"), *argv],
        )
    return info.value.code


def test_job_checks_a_csv_table_prints_verdicts_and_writes_the_safe_table(
    repo, spark, tmp_path, capsys
):
    csv = tmp_path / "table.csv"
    TWO_WAY.to_csv(csv, sep=";", index=False)
    out = tmp_path / "out"
    code = run_job(repo, spark, str(csv), "--by", "r,c", "--count", "n", "--out", str(out))
    assert code == 3  # a cell fails
    printed = capsys.readouterr().out
    assert (
        "FAIL   r=a, c=y: 4 contributor(s), fewer than the minimum of 10 [primary suppression]"
        in printed
    )
    assert "r=c, c=z: suppressed as well" in printed and "output check: FAIL" in printed
    safe = pd.read_csv(out / "safe.csv", dtype={"r": str, "c": str})
    hidden = safe[safe["count"].isna()][["r", "c"]].apply(tuple, axis=1).tolist()
    assert sorted(hidden) == [("a", "y"), ("a", "z"), ("c", "y"), ("c", "z")]
    report = pd.read_csv(out / "report.csv")
    assert report["verdict"].value_counts().to_dict() == {"pass": 15, "fail": 1}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passed"] is False and summary["suppressed"] == 4


def test_job_checks_a_release_like_delta_table_as_microdata(repo, spark, tmp_path, capsys):
    rows = [(2016, f"p{i}", "Y" if i % 3 else "N", float(i)) for i in range(40)]
    df = spark.createDataFrame(rows, "population int, person_id string, poor string, amount double")
    path = tmp_path / "adi"
    df.write.format("delta").save(str(path))
    code = run_job(
        repo, spark, str(path), "--by", "poor", "--layers", "population", "--value", "amount",
        "--contributor", "person_id", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "output check: PASS" in printed
    safe = pd.read_csv(tmp_path / "o" / "safe.csv", dtype=str)
    assert safe.set_index("poor")["count"].to_dict() == {"N": "14", "Y": "26", "Total": "40"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.csv", "--by", "r", "--count", "n"], "missing.csv: not found"),
        (["{csv}", "--by", "r", "--count", "nn"], "no column 'nn' (columns: r, c, n)"),
        (
            ["{csv}", "--by", "r,c", "--count", "c"],
            "column 'c': expected whole numbers >= 0, found 'x'",
        ),
        (["{csv}", "--by", "r", "--total", "n"], "--total and --top describe an aggregated table"),
    ],
)
def test_job_bad_input_is_one_line_and_exit_2(repo, spark, tmp_path, capsys, argv, message):
    csv = tmp_path / "t.csv"
    TWO_WAY.to_csv(csv, index=False)
    argv = [a.replace("{csv}", str(csv)) for a in argv]
    assert run_job(repo, spark, *argv, "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1


def test_job_help_needs_no_spark(repo):
    result = subprocess.run(
        [str(repo / "spark-submit.sh"), "check-output", "--help"],
        cwd=repo, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0
    assert "--by COL[,COL]" in result.stdout and "--contributor COL" in result.stdout
