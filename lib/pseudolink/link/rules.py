"""Which rows of which bronze table belong to which population: the window rules.

Every window is a range of quarters ``'YYYYQn'`` (they sort as text). Per person and
population the cohorts stage wrote (``trusted/populations/windows``): ``quarterly_from``
(Q1 of the first year followed) to ``quarterly_to`` (Q4 of the last), ``retrospective_from``
(Q1 of the reference year minus 3 for persons followed from the reference date) and
``activation_start_from`` (January of the reference year minus 3, same persons).

- KSZ quarterly (position, RVA status, OCMW support, activation start): the row's
  ``quarter`` in [retrospective_from, quarterly_to];
- VDAB quarterly (registration): ``quarter`` in [quarterly_from, quarterly_to];
- VDAB activation actions: the start quarter in [lookback, quarterly_to] and the end (if
  any) not before quarterly_from; lookback = activation_start_from, else quarterly_from;
- VDAB employment: the start quarter in [quarterly_from, quarterly_to];
- Statbel CENSUS, DEMOBEL, ADI (annual): ``year`` Q1 in [quarterly_from, quarterly_to],
  i.e. the years followed.

DEMOBEL events are not linked: the cohorts stage used them for the follow-up, and the
moves table carries what the deliberation allows of them (person, household, year).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

# A window struct's fields (see windows_by_person): population, quarterly_from,
# quarterly_to, retrospective_from, lookback_from.


def quarter_of_date(date: Column) -> Column:
    return F.format_string("%04dQ%d", F.year(date), F.quarter(date))


@dataclass(frozen=True)
class LinkRule:
    """One bronze table to link: its source, kind and the window test of a row."""

    source: str
    kind: str
    lower: str  # the window field a row's quarter must not be before
    time: str  # quarter | year | date:<column> | span:<start>,<end>

    @property
    def name(self) -> str:
        return f"{self.source}/{self.kind}"

    def in_window(self, w: Column) -> Column:
        """The test of one window struct ``w`` against the current row."""
        lower, upper = w[self.lower], w["quarterly_to"]
        if self.time.startswith("span:"):
            start_col, end_col = self.time[len("span:") :].split(",")
            start = quarter_of_date(F.col(start_col))
            end = F.coalesce(quarter_of_date(F.col(end_col)), F.lit("9999Q4"))
            return (start >= lower) & (start <= upper) & (end >= w["quarterly_from"])
        q = self.row_quarter()
        return (q >= lower) & (q <= upper)

    def row_quarter(self) -> Column:
        if self.time == "quarter":
            return F.col("quarter")
        if self.time == "year":
            return F.format_string("%04dQ1", F.col("year"))
        if self.time.startswith("date:"):
            return quarter_of_date(F.col(self.time[len("date:") :]))
        raise ValueError(f"no single quarter for {self.time}")


RULES = (
    LinkRule("ksz", "ksz_quarterly", "retrospective_from", "quarter"),
    LinkRule("vdab", "vdab_quarterly", "quarterly_from", "quarter"),
    LinkRule("vdab", "vdab_activation", "lookback_from", "span:start_date,end_date"),
    LinkRule("vdab", "vdab_employment", "quarterly_from", "date:start_date"),
    LinkRule("statbel", "census", "quarterly_from", "year"),
    LinkRule("statbel", "demobel", "quarterly_from", "year"),
    LinkRule("statbel", "adi", "quarterly_from", "year"),
)
