"""Persons and households, simulated year by year over 2013-2024.

Each block of households is independent: persons never move between blocks, so a block
can be simulated by one Spark task. A person who joins a household from outside the block
(a new partner) is created at that moment, with a career from 2013.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from pseudolink import insz as insz_rules
from pseudolink.generate import params as P

FOREIGN_EU = ["NL", "FR", "DE", "IT", "ES", "PT", "PL", "RO", "BG", "GR"]
FOREIGN_NON_EU = ["MA", "TR", "SY", "AF", "CD", "IN", "UA", "RU", "ER"]


class Household:
    __slots__ = ("hid", "members", "municipality", "region", "tenure", "rooms", "collective")

    def __init__(self, hid: str, municipality: str, region: str, tenure: str, rooms: int):
        self.hid, self.municipality, self.region = hid, municipality, region
        self.tenure, self.rooms = tenure, rooms
        self.members: list[Person] = []
        self.collective = False  # a collective household (DEMOBEL type 6, position 11)


class Person:
    __slots__ = (
        "pid",
        "insz",
        "sex",
        "birth",
        "month_known",
        "day_known",
        "place_of_birth",
        "first_nat",
        "cur_nat",
        "origin",
        "arrival_year",
        "education",
        "risk",
        "disabled",
        "work_limitation",
        "dutch",
        "wage",
        "hh",
        "relation",
        "enter",
        "leave",
        "leave_kind",
        "snap",
        "states",
        "vdab",
        "jobs",
        "actions",
    )

    def __init__(self) -> None:
        self.hh: Household | None = None
        self.enter: date | None = None  # arrival in Belgium (None: resident before 2013)
        self.leave: date | None = None  # death, emigration or struck off
        self.leave_kind: str | None = None  # died, abroad, unknown
        self.snap: dict[
            int, tuple
        ] = {}  # 1 January: hid, relation, municipality, region, nationality
        self.states: list[tuple | None] = [None] * len(P.QUARTERS)
        self.vdab: list[tuple] = []  # quarterly VDAB rows (built by careers)
        self.jobs: list[tuple] = []  # employment after registration
        self.actions: list[list] = []  # activation actions

    def age(self, on: date) -> int:
        b = self.birth
        return on.year - b.year - ((on.month, on.day) < (b.month, b.day))

    def age_on_jan1(self, year: int) -> int:
        return self.age(date(year, 1, 1))

    def present(self, on: date) -> bool:
        return (self.enter is None or self.enter <= on) and (self.leave is None or on < self.leave)


def random_date(rng: random.Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def pick(rng: random.Random, weights: dict) -> str:
    r, acc = rng.random(), 0.0
    for key, w in weights.items():
        acc += w
        if r < acc:
            return key
    return key


class Block:
    """The state of one block: its households, persons, events and id counters."""

    def __init__(self, block: int, blocks: int, seed: int, municipalities: dict[str, list[str]]):
        self.block, self.blocks = block, blocks
        self.rng = random.Random(f"pseudolink:{seed}:{block}")
        self.municipalities = municipalities  # region -> municipality codes
        self.persons: list[Person] = []
        self.households: list[Household] = []
        self.events: list[tuple] = []  # (person, hid, date, event, destination, municipality)
        self._pid = self._hid = 0
        self.actions = 0  # activation actions started (their ids)
        self.late_joiners: list[Person] = []  # joined from elsewhere in Belgium this year
        self._serials: dict[tuple, int] = {}

    # -- identifiers -------------------------------------------------------------------
    def new_hid(self) -> str:
        self._hid += 1
        return f"H{self.block:04d}{self._hid:07d}"

    def assign_insz(self, p: Person, bis: bool) -> None:
        """A unique INSZ in this block: serials are interleaved between blocks."""
        offset = (40 if p.sex in "MF" else 20) if bis else 0
        while True:
            b = p.birth
            month = b.month if p.month_known else 0
            day = b.day if p.day_known else 0
            key = (b.year, month + offset, day, p.sex)
            k = self._serials.get(key, 0)
            s = self.block + self.blocks * k
            if s <= 497:
                self._serials[key] = k + 1
                serial = 2 * s + (1 if p.sex == "M" else 2)
                p.insz = insz_rules.compose(b.year, month, day, serial, offset)
                return
            p.birth = b + timedelta(days=1)  # all serials of that day taken in this block

    def new_person(
        self,
        sex: str,
        birth: date,
        *,
        foreign: str | None = None,
        arrival: int | None = None,
        region: str = "FL",
    ) -> Person:
        rng, p = self.rng, Person()
        self._pid += 1
        p.pid, p.sex, p.birth = self.block * 10**8 + self._pid, sex, birth
        p.month_known = p.day_known = True
        if foreign:
            nat = rng.choice(FOREIGN_EU if foreign == "EU" else FOREIGN_NON_EU)
            p.first_nat = p.cur_nat = nat
            p.place_of_birth = "EU" if foreign == "EU" else "NEU"
            p.origin = "3" if foreign == "EU" else "4"
            p.arrival_year = max(arrival, birth.year) if arrival else None
            p.dutch = pick(rng, {"0": 0.25, "1": 0.35, "2": 0.2, "3": 0.05, "9": 0.15})
            bis = rng.random() < P.BIS_SHARE_ARRIVALS
            if bis and rng.random() < P.UNKNOWN_DATE_SHARE_BIS:
                p.day_known = False
                p.month_known = rng.random() < 0.5
        else:
            p.first_nat = p.cur_nat = "BE"
            # Born in the region they live in, or sometimes in another one.
            p.place_of_birth = (
                region
                if rng.random() < 0.85
                else rng.choice([r for r in ("FL", "WA", "BR") if r != region])
            )
            p.origin = "1" if rng.random() < 0.85 else "2"
            p.arrival_year = None
            p.dutch = pick(rng, {"3": 0.7, "2": 0.25, "9": 0.05})
            bis = False
        p.education = pick(rng, P.EDUCATION)
        if foreign == "NON_EU":
            p.education = pick(rng, {"L": 0.45, "M": 0.35, "H": 0.20})
        p.risk = P.RISK_BY_EDUCATION[p.education] * math.exp(rng.gauss(0, 0.35))
        if foreign == "NON_EU":
            p.risk *= 1.6
        p.disabled = rng.random() < 0.03
        p.work_limitation = "1" if p.disabled else ("2" if rng.random() < 0.04 else "0")
        p.wage = P.WAGE_MEDIAN_QUARTER * math.exp(rng.gauss(0, 0.4)) / p.risk**0.3
        self.assign_insz(p, bis)
        self.persons.append(p)
        return p

    def born_here_to(self, child: Person, parent: Person) -> None:
        """A child born in Belgium to a foreign parent may keep the parent's nationality."""
        if parent.cur_nat != "BE" and self.rng.random() < P.BORN_HERE_FOREIGN_SHARE:
            child.first_nat = child.cur_nat = parent.cur_nat
            child.origin = parent.origin  # 3 (EU) or 4 (outside the EU), as the parent's

    # -- households ----------------------------------------------------------------------
    def new_household(self, region: str) -> Household:
        rng = self.rng
        hh = Household(
            self.new_hid(),
            rng.choice(self.municipalities[region]),
            region,
            pick(rng, {"1": 0.70, "2": 0.20, "3": 0.07, "4": 0.02, "9": 0.01}),
            rng.choice((2, 3, 4, 4, 5, 5, 6, 7)),
        )
        self.households.append(hh)
        return hh

    def join(self, p: Person, hh: Household, relation: str) -> None:
        if p.hh is not None and p in p.hh.members:
            p.hh.members.remove(p)
        p.hh, p.relation = hh, relation
        hh.members.append(p)

    def birth_in(self, year_from: int, year_to: int) -> date:
        return random_date(self.rng, self.rng.randint(year_from, year_to))

    def populate(self, persons: int) -> None:
        """The resident population on 1 January 2013: about ``persons`` persons."""
        rng, start = self.rng, P.FIRST_YEAR
        while len(self.persons) < persons:
            region = pick(rng, P.REGION_SHARES)
            kind = pick(rng, dict(P.HOUSEHOLD_TYPES))
            foreign = None
            r = rng.random()
            if r < 0.06:
                foreign = "EU"
            elif r < 0.12 + (0.12 if region == "BR" else 0):
                foreign = "NON_EU"
            arrival = rng.randint(1980, start - 1) if foreign else None
            hh = self.new_household(region)
            ref_sex = rng.choice("MF")
            ref_age = rng.randint(20, 90) if kind in ("single", "couple") else rng.randint(24, 60)
            ref = self.new_person(
                ref_sex,
                self.birth_in(start - ref_age - 1, start - ref_age - 1),
                foreign=foreign,
                arrival=arrival,
                region=region,
            )
            self.join(ref, hh, "01")
            if kind in ("couple", "couple_kids"):
                age = max(18, ref_age + rng.randint(-6, 6))
                partner = self.new_person(
                    "F" if ref_sex == "M" else "M",
                    self.birth_in(start - age - 1, start - age - 1),
                    foreign=foreign,
                    arrival=arrival,
                    region=region,
                )
                self.join(partner, hh, "02" if rng.random() < 0.65 else "03")
            if kind in ("couple_kids", "single_parent"):
                for _ in range(pick(rng, {1: 0.4, 2: 0.4, 3: 0.15, 4: 0.05})):
                    age = rng.randint(0, min(26, ref_age - 18))
                    child = self.new_person(
                        rng.choice("MF"),
                        self.birth_in(start - age - 1, start - age - 1),
                        foreign=foreign if age > 5 else None,
                        arrival=arrival,
                        region=region,
                    )
                    if foreign and age <= 5:
                        child.origin = "2"
                        self.born_here_to(child, ref)
                    self.join(child, hh, "04")
            if kind == "other":
                for _ in range(rng.randint(1, 2)):
                    age = rng.randint(18, 80)
                    other = self.new_person(
                        rng.choice("MF"),
                        self.birth_in(start - age - 1, start - age - 1),
                        region=region,
                    )
                    self.join(other, hh, rng.choice(("06", "07", "08")))
        self.populate_collective(persons)

    def populate_collective(self, persons: int) -> None:
        """A few collective households (the first in the Flemish Region) of adults."""
        rng, start = self.rng, P.FIRST_YEAR
        for i in range(max(1, round(persons * P.COLLECTIVE_PER_PERSON))):
            hh = self.new_household("FL" if i == 0 else pick(rng, P.REGION_SHARES))
            hh.collective, hh.tenure = True, "9"
            for j in range(rng.randint(*P.COLLECTIVE_SIZE)):
                age = rng.randint(18, 95)
                resident = self.new_person(
                    rng.choice("MF"),
                    self.birth_in(start - age - 1, start - age - 1),
                    region=hh.region,
                )
                self.join(resident, hh, "01" if j == 0 else "08")
