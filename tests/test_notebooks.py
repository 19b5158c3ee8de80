"""The three notebooks of notebooks/, run top to bottom with nbclient in a Jupyter kernel of
this environment, on the suite's demo release; and the committed files, outputs stripped."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.util import run_sync
from traitlets.config import Config

from pseudolink.config import uri_to_local_path

NOTEBOOKS = (
    "01_delivery_validation.ipynb",
    "02_release_validation.ipynb",
    "03_research_starter.ipynb",
)
KERNEL = "pseudolink-tests"
INSZ_LIKE = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")


def test_committed_notebooks_are_stripped_and_take_one_parameter(repo):
    for name in NOTEBOOKS:
        nb = nbformat.read(repo / "notebooks" / name, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), name
        first = code[0]
        assert first.metadata.get("tags") == ["parameters"], name
        assert 'ROOT = os.environ.get("PSEUDOLINK_ROOT", "../data")' in first.source, name
        assert sum("PSEUDOLINK_ROOT" in c.source for c in code) == 1, name
        assert any("notebook_spark(" in c.source for c in code), name


def kernel_spec(folder: Path) -> Path:
    """A kernel spec that runs this interpreter (the project's .venv), whatever other
    'python3' kernels the machine has; ``folder`` goes on JUPYTER_PATH."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL}))
    return folder


class Run:
    """An executed notebook: its cells with outputs, and how long it took."""

    def __init__(self, nb: nbformat.NotebookNode, seconds: float) -> None:
        self.nb, self.seconds = nb, seconds

    def outputs(self) -> list[dict]:
        return [o for c in self.nb.cells if c.cell_type == "code" for o in c.outputs]

    def images(self) -> int:
        return sum("image/png" in o.get("data", {}) for o in self.outputs())

    def summary(self) -> dict:
        found = [
            o["data"]["application/json"]
            for o in self.outputs()
            if "application/json" in o.get("data", {})
        ]
        assert len(found) == 1
        return found[0]

    def text(self) -> str:
        parts = []
        for o in self.outputs():
            parts.append(o.get("text", ""))
            for kind, value in o.get("data", {}).items():
                if not kind.startswith("image/"):
                    parts.append(value if isinstance(value, str) else json.dumps(value))
        return "\n".join(parts)


def inject_parameters(nb: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    """Papermill-style: a cell put before the "parameters" cell (in this in-memory copy
    only) that empties the user namespace, so that nothing an earlier notebook left in the
    shared kernel stands in for a missing import or definition, and sets the root. It
    shows nothing. Spark lives in the kernel's one JVM, not in the namespace: each notebook
    ends with ``spark.stop()``, and the next one's ``notebook_spark()`` (getOrCreate)
    starts a new SparkContext in that same JVM."""
    index = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert nb.cells[index].metadata.get("tags") == ["parameters"]
    source = f'%reset -f\nimport os\n\nos.environ["PSEUDOLINK_ROOT"] = {json.dumps(str(root))}'
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index, cell)
    return cell


@pytest.fixture(scope="module")
def executed(released, repo, tmp_path_factory):
    """The three notebooks one after the other in ONE kernel (one kernel start, one JVM):
    the two for the trusted third party on the demo's data root, the research starter on a
    copy of the release folder alone (no data root around it), as a researcher receives
    it. Each notebook gets its root from an injected cell (:func:`inject_parameters`)."""
    ctx, root, outcome, _ = released
    work = tmp_path_factory.mktemp("notebooks")
    received = work / "received" / outcome.release_id
    shutil.copytree(uri_to_local_path(outcome.folder), received)
    roots = {NOTEBOOKS[0]: root, NOTEBOOKS[1]: root, NOTEBOOKS[2]: received}
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(kernel_spec(work / "jupyter")))
    mp.setenv("PSEUDOLINK_DRIVER_MEMORY", "1g")
    mp.delenv("PSEUDOLINK_ROOT", raising=False)  # each notebook's comes from its cell
    # nbclient's own kernel manager class (its clients are awaited); given to each
    # NotebookClient as km=, the client neither starts a second kernel nor shuts this one
    # down when its notebook ends (it does not own it).
    km = AsyncKernelManager(
        kernel_name=KERNEL,
        # The kernel's JVM removes its temporary folders when it exits: let it.
        config=Config({"KernelManager": {"shutdown_wait_time": 60.0}}),
    )
    runs = {}
    try:
        started = time.monotonic()
        run_sync(km.start_kernel)(
            cwd=str(repo / "notebooks"),  # what resources' metadata.path gave nbclient
            extra_arguments=["--HistoryManager.hist_file=:memory:"],  # as nbclient does
        )
        print(f"kernel launched: {time.monotonic() - started:.0f} s")
        for name in NOTEBOOKS:
            nb = nbformat.read(repo / "notebooks" / name, as_version=4)
            injected = inject_parameters(nb, roots[name])
            client = NotebookClient(
                nb,
                km=km,
                kernel_name=KERNEL,
                timeout=1200,  # per cell
                startup_timeout=300,  # the wait for the kernel to answer
            )
            started = time.monotonic()
            try:
                client.execute()  # raises CellExecutionError, with the cell, on any error
            finally:
                if client.kc is not None:  # its own client of the shared kernel
                    client.kc.stop_channels()
                nbformat.write(nb, work / name)  # the executed copy, for a look after a failure
            assert injected.outputs == [], name
            runs[name] = Run(nb, time.monotonic() - started)
            print(f"{name}: {runs[name].seconds:.0f} s")
    finally:
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)()
        finally:
            mp.undo()
    return runs, ctx, outcome


@pytest.mark.slow
def test_delivery_validation_counts_every_delivered_row(executed, demo):
    runs, _, _ = executed
    _, _, reports, sizes = demo
    run = runs[NOTEBOOKS[0]]
    summary = run.summary()
    assert summary["received"] == sum(r.rows for r in reports)
    assert summary["accepted"] == sum(r.accepted for r in reports)
    assert summary["quarantined"] == 0  # the demo's deliveries are clean
    followed = {int(p): n for p, n in summary["followed_on_reference_date"].items()}
    assert followed == {year: s["index"] + s["members"] for year, s in sizes.items()}
    assert summary["linked"] > 0
    assert run.images() == 5  # deliveries, linkage, follow-up, moves, distributions


@pytest.mark.slow
def test_release_validation_finds_the_release_sound(executed):
    runs, _, outcome = executed
    run = runs[NOTEBOOKS[1]]
    summary = run.summary()
    assert summary["release_id"] == outcome.release_id and summary["verdict"] == "pass"
    assert summary["manifest_problems"] == 0 and summary["identifier_findings"] == 0
    assert summary["scenarios"] == len(outcome.scra["scenarios"])
    # Every scenario recounted from the released tables: a person scenario counts every
    # row of the persons table.
    assert summary["units_below_k"] == 0
    assert summary["units_checked"] >= outcome.tables["persons"] > 0
    assert "units below k in the written release: OK" in run.text()
    keys = outcome.scra["keys"]
    assert summary["suppressions"] == sum(v["suppressed"] for v in keys.values())
    assert run.images() == 2  # units below k per scenario, share suppressed per key


@pytest.mark.slow
def test_research_starter_shows_only_checked_tables(executed):
    runs, _, outcome = executed
    run = runs[NOTEBOOKS[2]]
    summary = run.summary()
    assert summary["release_id"] == outcome.release_id
    assert summary["tables_checked"] == 5  # transitions, and 2 horizons x 2 breakdowns
    assert summary["smallest_published_count"] >= 10
    assert summary["persons_with_an_action"] > 0
    assert run.images() == 2  # transition matrices, work after activation


@pytest.mark.slow
def test_no_national_number_in_any_notebook_output(executed):
    runs, _, _ = executed
    for name, run in runs.items():
        assert not INSZ_LIKE.search(run.text()), name
