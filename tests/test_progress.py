from __future__ import annotations

import logging
import time

from pseudolink.progress import progress


def test_progress_logs_task_counts_while_a_job_runs(spark, caplog):
    log = logging.getLogger("test-progress")
    sc = spark.sparkContext

    def slow(x: int) -> int:
        time.sleep(0.4)
        return x

    with caplog.at_level(logging.INFO, logger="test-progress"), progress(sc, "demo", log, 0.2):
        assert sc.parallelize(range(6), 6).map(slow).sum() == 15
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("demo: ") and "/6 tasks done" in line for line in lines), lines
