"""The generator's own truth about the three stock populations, computed from its state
(never from the pipeline's code), so later tests can check the selection exactly.

Rules (the cohorts stage implements the same ones from the Statbel files):
- index person: in the Flemish Region on 1 January Y, 18-64 that day, and a CENSUS labour
  market situation of year Y that is not employed (1), student (3) or retired (4);
- members: everyone in an index person's household on 1 January Y;
- joiners: persons who enter that household later, from the first year they are in it
  on 1 January (in the Flemish Region); a person is listed once per population: as an
  index person if they are one, else with the household they are first in (earliest
  year, then the smallest household id);
- from_year / to_year: the first and last year the person is observed in the followed
  household (index persons: in the Flemish Region) on 1 January; the event that ends the
  follow-up happens during to_year;
- end_reason, decided in this order: died, moved_abroad, moved_unknown (a DEMOBEL event
  of to_year), left_household (a member or joiner is in another household the next year;
  a later return is not followed again), moved_other_region (the household, or an index
  person, lives in another region the next year), moved_unknown (absent the next year
  without an event), or empty (followed to 2024).
"""

from __future__ import annotations

from collections.abc import Iterator

from pseudolink.generate import params as P
from pseudolink.generate.population import Block, Person
from pseudolink.generate.records import LMS

HEADER = "insz;population;role;household_id;from_year;to_year;end_reason"
NOT_SELECTED = ("1", "3", "4")  # employed, student, retired


def census_situation(p: Person, year: int) -> str:
    qi = (year - 1 - P.FIRST_YEAR) * 4 + 3
    st = p.states[qi] if qi >= 0 else None
    return LMS[st[0]] if st else ("3" if p.age_on_jan1(year) < 15 else "7")


def _end(p: Person, last: int) -> str:
    if p.leave is not None and p.leave.year == last:
        return {"died": "died", "abroad": "moved_abroad", "unknown": "moved_unknown"}[p.leave_kind]
    return ""


def _follow(p: Person, start: int, hid: str | None) -> tuple[int, str]:
    """Last year observed (in household ``hid``, or in Flanders if None) and the reason."""
    last = start
    for year in range(start + 1, P.LAST_YEAR + 2):
        snap = p.snap.get(year)
        if snap is None:
            return last, _end(p, last) or "moved_unknown"
        if hid is not None and snap[0] != hid:
            return last, _end(p, last) or "left_household"
        if snap[3] != "FL":
            return last, "moved_other_region"
        last = year if year <= P.LAST_YEAR else last
    return P.LAST_YEAR, ""


def population_rows(block: Block) -> Iterator[str]:
    by_household: dict[str, list[Person]] = {}
    for p in block.persons:
        for hid in {s[0] for s in p.snap.values()}:
            by_household.setdefault(hid, []).append(p)
    for year in P.REFERENCE_YEARS:
        index = [
            p
            for p in block.persons
            if (s := p.snap.get(year))
            and s[3] == "FL"
            and 18 <= p.age_on_jan1(year) <= 64
            and census_situation(p, year) not in NOT_SELECTED
        ]
        listed: set[int] = set()
        households: set[str] = set()
        for p in index:
            last, reason = _follow(p, year, None)
            listed.add(p.pid)
            households.add(p.snap[year][0])
            yield f"{p.insz};{year};index;{p.snap[year][0]};{year};{last};{reason}"
        # Members and joiners: each person once, with the household they are first in
        # (earliest year, then the smallest household id).
        first_in: dict[int, tuple[int, str, Person]] = {}
        for hid in sorted(households):
            for p in by_household[hid]:
                if p.pid in listed:
                    continue
                first = next(
                    (
                        y
                        for y in range(year, P.LAST_YEAR + 1)
                        if (s := p.snap.get(y)) and s[0] == hid and s[3] == "FL"
                    ),
                    None,
                )
                if first is not None and (first, hid) < first_in.get(p.pid, (9999, "", p))[:2]:
                    first_in[p.pid] = (first, hid, p)
        for first, hid, p in first_in.values():
            last, reason = _follow(p, first, hid)
            yield f"{p.insz};{year};member;{hid};{first};{last};{reason}"
