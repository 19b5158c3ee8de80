"""The linkage report: per table, population and period, rows in, linked, not linked by
reason and the linkage rate; and the reconciliation that nothing disappeared."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass

from pyspark.sql import Row

from pseudolink.errors import PseudolinkError

NONE = "none"  # the population label of rows whose INSZ is in no population


@dataclass
class ReportRow:
    source: str
    kind: str
    population: str  # '2016', '2019', '2022' or 'none'
    period: str
    rows_in: int = 0
    linked: int = 0
    outside_window: int = 0
    not_in_population: int = 0

    @property
    def linkage_rate(self) -> float:
        return round(self.linked / self.rows_in, 6) if self.rows_in else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "linkage_rate": self.linkage_rate}


@dataclass
class TableReport:
    """A table's report rows and its row-level totals (each bronze row counted once)."""

    source: str
    kind: str
    rows: list[ReportRow]
    totals: dict[str, int]  # status -> bronze rows
    bronze_rows: int
    linked_rows: int  # output rows (a row linked to two populations counts twice)
    join: str = ""
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.source}/{self.kind}"

    def summary(self) -> str:
        t = self.totals
        return (
            f"{self.name}: {self.bronze_rows:,} rows, {t.get('linked', 0):,} linked, "
            f"{t.get('outside_window', 0):,} outside the window, "
            f"{t.get('not_in_population', 0):,} not in a population; "
            f"{self.linked_rows:,} linked rows written ({self.join}, {self.seconds:.1f} s)"
        )


def build_report(source: str, kind: str, counts: list[Row], bronze_rows: int) -> TableReport:
    """Turn the aggregated counts (link.frames.report_counts) into report rows and totals."""
    cells: dict[tuple[str, str], ReportRow] = {}
    totals: dict[str, int] = defaultdict(int)
    linked_rows = 0
    for r in counts:
        population = NONE if r["_population"] is None else str(r["_population"])
        key = (population, r["period"])
        cell = cells.setdefault(key, ReportRow(source, kind, population, r["period"]))
        n = int(r["rows"])
        cell.rows_in += n
        if r["_population"] is None:
            cell.not_in_population += n
        elif r["_in_window"]:
            cell.linked += n
            linked_rows += n
        else:
            cell.outside_window += n
        if r["_first"]:
            totals[r["_status"]] += n
    rows = sorted(cells.values(), key=lambda c: (c.population, c.period))
    return TableReport(source, kind, rows, dict(totals), bronze_rows, linked_rows)


def reconcile(report: TableReport, written: int) -> None:
    """Every bronze row has exactly one status; the table holds every linked row."""
    counted = sum(report.totals.values())
    if counted != report.bronze_rows:
        raise PseudolinkError(
            f"link {report.name}: {report.bronze_rows} bronze rows but {counted} counted "
            "(linked + outside the window + not in a population): rows were lost"
        )
    if written != report.linked_rows:
        raise PseudolinkError(
            f"link {report.name}: {report.linked_rows} linked rows counted but {written} written"
        )
