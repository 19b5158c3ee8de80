"""Progress lines while a Spark job runs. Deterministic: the job's tasks wait for a flag
file that the test creates only after it has seen a progress line, so the line is logged
while the stage is active however fast or slow the machine is (the waits are guards
against a hang, not timings)."""

from __future__ import annotations

import logging
import os
import threading
import time

from pseudolink.progress import progress

GUARD = 120  # seconds: a hang, not slowness


class Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.progress = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.lines.append(message)
        if message.startswith("demo: ") and "/6 tasks done" in message:
            self.progress.set()


def test_progress_logs_task_counts_while_a_job_runs(spark, tmp_path):
    log = logging.getLogger("test-progress")
    level = log.level
    log.setLevel(logging.INFO)
    seen = Seen()
    log.addHandler(seen)
    flag = str(tmp_path / "go")
    sc = spark.sparkContext

    def gated(x: int) -> int:
        deadline = time.monotonic() + GUARD
        while not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.05)
        return x

    result: list[int] = []
    try:
        with progress(sc, "demo", log, 0.1):
            job = threading.Thread(
                target=lambda: result.append(sc.parallelize(range(6), 6).map(gated).sum())
            )
            job.start()
            assert seen.progress.wait(GUARD), seen.lines
            open(flag, "w").close()
            job.join(GUARD)
    finally:
        open(flag, "w").close()
        log.removeHandler(seen)
        log.setLevel(level)
    assert result == [15]
    assert any("/6 tasks done after" in line for line in seen.lines)
