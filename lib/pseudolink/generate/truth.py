"""The generator's own truth about the three stock populations, computed from its state
(never from the pipeline's code), so later tests can check the selection exactly.

Rules (the cohorts stage implements the same ones from the Statbel files; footnote 3 of
the deliberation follows the household of the person in the population, "diens gezin"):
- index person: in the Flemish Region on 1 January Y, 18-64 that day, and a CENSUS labour
  market situation of year Y that is not employed (1), student (3) or retired (4);
  followed from Y for as long as they live in the Flemish Region on 1 January (in any
  household, a collective one too);
- members and joiners: anyone else, in each year they live on 1 January in the Flemish
  Region in the same household as an index person of that population who is followed
  that year, from the first such year (from_year: Y for the members, later for the
  joiners) through the unbroken run of such years (to_year); the first year they do not
  (they left, or the index person died, left or moved out) ends it for good, a later
  return is not followed again. A collective household is no household to follow:
  nobody is a member because they live in one with an index person;
- once per population: as an index person if they are one, else with the household of
  their first year (earliest year, then the smallest household id);
- end_reason, decided in this order: died, moved_abroad, moved_unknown (the person's own
  death, emigration or striking off during to_year); moved_unknown (absent the next year);
  moved_other_region (in another region the next year); left_household (a member who
  does not live with a followed index person the next year); or empty (followed to
  2024). 1 January 2025 is the simulation's state at the end of 2024;
- end_quarter: the quarter of the event that ends the follow-up, during to_year: the
  death, emigration or striking off; for moved_other_region the first move out of the
  region; for left_household the member's first move into another household, else the
  latest departure (death, emigration, striking off, move into another household or out
  of the region) of the index persons the member lived with on 1 January of to_year, when
  each of them has one; else empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from pseudolink.generate import params as P
from pseudolink.generate.population import Block, Person
from pseudolink.generate.records import LMS

HEADER = "insz;population;role;household_id;from_year;to_year;end_reason;end_quarter"
NOT_SELECTED = ("1", "3", "4")  # employed, student, retired
END = P.LAST_YEAR + 1  # 1 January after the last year: the state at the end
LEAVE_REASON = {"died": "died", "abroad": "moved_abroad", "unknown": "moved_unknown"}
LEAVE_EVENTS = ("DEATH", "EMIGRATION", "STRUCK_OFF")


def census_situation(p: Person, year: int) -> str:
    qi = (year - 1 - P.FIRST_YEAR) * 4 + 3
    st = p.states[qi] if qi >= 0 else None
    return LMS[st[0]] if st else ("3" if p.age_on_jan1(year) < 15 else "7")


def _quarter(day: date | None) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}" if day else ""


class _Departures:
    """Per person and year (from the block's events): the first move into another
    household than the one of 1 January, the first move out of the Flemish Region, and the
    first death, emigration or striking off."""

    def __init__(self, block: Block):
        self.events: dict[int, list[tuple]] = defaultdict(list)
        for p, hid, when, kind, dest, _muni in block.events:
            self.events[p.pid].append((when, kind, hid, dest))

    def _of(self, p: Person, year: int) -> list[tuple]:
        return sorted(e for e in self.events[p.pid] if e[0].year == year)

    def household(self, p: Person, year: int) -> date | None:
        home = p.snap[year][0]
        return next((w for w, k, h, _ in self._of(p, year) if k == "MOVE" and h != home), None)

    def region(self, p: Person, year: int) -> date | None:
        return next(
            (w for w, k, _, d in self._of(p, year) if k == "MOVE" and d in ("WA", "BR")), None
        )

    def leave(self, p: Person, year: int) -> date | None:
        return next((w for w, k, _, _ in self._of(p, year) if k in LEAVE_EVENTS), None)

    def any(self, p: Person, year: int) -> date | None:
        dates = [d for d in (self.leave(p, year), self.household(p, year), self.region(p, year))]
        return min((d for d in dates if d), default=None)


def _run(first: int, followed) -> int | None:
    """The first year after ``first`` (up to END) that ``followed`` rejects, or None."""
    return next((y for y in range(first + 1, END + 1) if not followed(y)), None)


def _reason(p: Person, to_year: int, brk: int | None, member: bool) -> str:
    if brk is None:
        return ""
    if p.leave is not None and p.leave.year == to_year:
        return LEAVE_REASON[p.leave_kind]
    snap = p.snap.get(brk)
    if snap is None:
        return "moved_unknown"
    if snap[3] != "FL":
        return "moved_other_region"
    return "left_household" if member else ""


def population_rows(block: Block) -> Iterator[str]:
    collective = {hh.hid for hh in block.households if hh.collective}
    deps = _Departures(block)
    persons = sorted(block.persons, key=lambda p: p.pid)
    for year in P.REFERENCE_YEARS:
        index = [
            p
            for p in persons
            if (s := p.snap.get(year))
            and s[3] == "FL"
            and 18 <= p.age_on_jan1(year) <= 64
            and census_situation(p, year) not in NOT_SELECTED
        ]
        # Index persons, and where each lives in each year they are followed.
        with_index: dict[tuple[int, str], list[Person]] = defaultdict(list)
        for p in index:

            def in_region(y: int, p: Person = p) -> bool:
                return (s := p.snap.get(y)) is not None and s[3] == "FL"

            brk = _run(year, in_region)
            to_year = min(brk - 1, P.LAST_YEAR) if brk else P.LAST_YEAR
            for y in range(year, (brk - 1 if brk else END) + 1):
                with_index[(y, p.snap[y][0])].append(p)
            reason = _reason(p, to_year, brk, member=False)
            end = _end_date(p, to_year, reason, deps, []) if reason else None
            yield f"{p.insz};{year};index;{p.snap[year][0]};{year};{to_year};{reason};" + (
                _quarter(end)
            )
        listed = {p.pid for p in index}
        for p in persons:
            if p.pid in listed:
                continue

            def followed(y: int, p: Person = p, homes: dict = with_index) -> bool:
                s = p.snap.get(y)
                return (
                    s is not None and s[3] == "FL" and s[0] not in collective and (y, s[0]) in homes
                )

            first = next((y for y in range(year, P.LAST_YEAR + 1) if followed(y)), None)
            if first is None:
                continue
            brk = _run(first, followed)
            to_year = brk - 1 if brk else P.LAST_YEAR
            reason = _reason(p, to_year, brk, member=True)
            housemates = with_index.get((to_year, p.snap[to_year][0]), [])
            end = _end_date(p, to_year, reason, deps, housemates) if reason else None
            hid = p.snap[first][0]
            yield f"{p.insz};{year};member;{hid};{first};{to_year};{reason};{_quarter(end)}"


def _end_date(
    p: Person, to_year: int, reason: str, deps: _Departures, housemates: list[Person]
) -> date | None:
    if reason in ("died", "moved_abroad") or (
        reason == "moved_unknown" and p.leave is not None and p.leave.year == to_year
    ):
        return deps.leave(p, to_year)
    if reason == "moved_other_region":
        return deps.region(p, to_year)
    if reason == "left_household":
        own = deps.household(p, to_year)
        if own:
            return own
        left = [deps.any(i, to_year) for i in housemates]
        return max(left) if left and all(left) else None
    return None
