"""Progress lines for long Spark actions, read from Spark's status tracker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark import SparkContext


@contextmanager
def progress(
    sc: SparkContext, what: str, log: logging.Logger, every: float = 30.0
) -> Iterator[None]:
    """Log ``what: N/M tasks done`` every ``every`` seconds while the block runs."""
    stop = threading.Event()
    started = time.monotonic()

    def report() -> None:
        while not stop.wait(every):
            tracker = sc.statusTracker()
            done = total = 0
            for stage_id in tracker.getActiveStageIds():
                info = tracker.getStageInfo(stage_id)
                if info is not None:
                    done += info.numCompletedTasks
                    total += info.numTasks
            if total:
                log.info(
                    "%s: %d/%d tasks done after %.0f s",
                    what,
                    done,
                    total,
                    time.monotonic() - started,
                )

    thread = threading.Thread(target=report, name=f"progress-{what}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
