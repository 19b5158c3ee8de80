"""The year's demographic events for one block: deaths, births, leaving home, unions,
separations, moves within and out of the region, emigration, being struck off, arrivals
and naturalisation. Each event has a date; Statbel's event file records them."""

from __future__ import annotations

import math
from datetime import date

from pseudolink.generate import params as P
from pseudolink.generate.population import Block, Household, Person, pick, random_date

OTHER_REGIONS = {"FL": ("WA", "BR"), "WA": ("FL", "BR"), "BR": ("FL", "WA")}


def snapshot(block: Block, year: int) -> None:
    """Record household, relation and residence of everyone present on 1 January."""
    on = date(year, 1, 1)
    for hh in block.households:
        for p in hh.members:
            if p.present(on):
                p.snap[year] = (hh.hid, p.relation, hh.municipality, hh.region, p.cur_nat)


def _event(block: Block, p: Person, when: date, kind: str, dest: str = "", muni: str = "") -> None:
    block.events.append((p, p.hh.hid if p.hh else "", when, kind, dest, muni))


def _leave_belgium(block: Block, p: Person, when: date, kind: str) -> None:
    p.leave, p.leave_kind = when, kind
    event = {"died": "DEATH", "abroad": "EMIGRATION", "unknown": "STRUCK_OFF"}[kind]
    _event(block, p, when, event, {"abroad": "ABROAD", "unknown": "UNKNOWN"}.get(kind, ""))
    hh = p.hh
    if hh is not None and p in hh.members:
        hh.members.remove(p)
        if p.relation == "01" and hh.members:
            _new_reference(hh)


def _new_reference(hh: Household) -> None:
    """The partner, or else the oldest member, becomes the reference person."""
    partners = [m for m in hh.members if m.relation in ("02", "03")]
    ref = partners[0] if partners else min(hh.members, key=lambda m: m.birth)
    ref.relation = "01"


def _move(block: Block, hh: Household, when: date, region: str) -> None:
    muni = block.rng.choice(block.municipalities[region])
    hh.municipality, hh.region = muni, region
    for p in list(hh.members):
        _event(block, p, when, "MOVE", region, muni)


def year_events(block: Block, year: int) -> None:
    rng = block.rng
    jan1 = date(year, 1, 1)
    for hh in list(block.households):
        members = [p for p in hh.members if p.present(jan1)]
        if not members:
            continue
        # Whole-household moves (not for a collective household).
        r = 1.0 if hh.collective else rng.random()
        if r < P.EMIGRATION_RATE:
            when = random_date(rng, year)
            for p in list(hh.members):
                _leave_belgium(block, p, when, "abroad")
            continue
        if r < P.EMIGRATION_RATE + P.MOVE_OTHER_REGION_RATE * (2.5 if hh.region != "FL" else 1):
            _move(block, hh, random_date(rng, year), rng.choice(OTHER_REGIONS[hh.region]))
        elif r < 0.02 + P.MOVE_WITHIN_RATE:
            _move(block, hh, random_date(rng, year), hh.region)
        for p in members:
            if p.leave is not None:
                continue
            age = p.age(jan1)
            q = min(0.6, P.DEATH_BASE * math.exp(P.DEATH_SLOPE * age))
            if rng.random() < q:
                _leave_belgium(block, p, random_date(rng, year), "died")
            elif age >= 18 and rng.random() < P.STRUCK_OFF_RATE * (3 if p.arrival_year else 1):
                _leave_belgium(block, p, random_date(rng, year), "unknown")
            elif (
                p.cur_nat != "BE"
                and p.arrival_year
                and year - p.arrival_year >= 5
                and rng.random() < P.NATURALISATION_RATE
            ):
                p.cur_nat = "BE"
                if p.origin in ("3", "4"):
                    p.origin = "2"
        if not hh.collective:
            _family_events(block, hh, year)
    _collective_entries(block, year)
    _arrivals(block, year)


def _collective_entries(block: Block, year: int) -> None:
    """A few adult children and persons living alone move into a collective household of
    their region (those who changed household this year already stay where they are)."""
    rng, jan1 = block.rng, date(year, 1, 1)
    homes = [hh for hh in block.households if hh.collective]
    for hh in list(block.households):
        if hh.collective:
            continue
        for p in list(hh.members):
            if (
                p.leave is not None
                or not p.present(jan1)
                or p.snap.get(year, ("",))[0] != hh.hid
                or p.age(jan1) < 18
                or not (p.relation in ("04", "05") or len(hh.members) == 1)
                or rng.random() >= P.COLLECTIVE_ENTRY_RATE
            ):
                continue
            nearby = [c for c in homes if c.region == hh.region]
            if nearby:
                home = rng.choice(nearby)
                block.join(p, home, "08")
                _event(block, p, random_date(rng, year), "MOVE", home.region, home.municipality)


def _family_events(block: Block, hh: Household, year: int) -> None:
    rng, jan1 = block.rng, date(year, 1, 1)
    members = [p for p in hh.members if p.leave is None]
    if not members:
        return
    ref = next((p for p in members if p.relation == "01"), None)
    if ref is None:
        _new_reference(hh)
        ref = next(p for p in hh.members if p.relation == "01")
    partner = next((p for p in members if p.relation in ("02", "03")), None)
    # Separation: the partner leaves for a household of their own.
    if partner is not None and rng.random() < P.SEPARATION_RATE:
        _split_off(block, partner, hh, random_date(rng, year))
        partner = None
    # Union: a partner from outside the block joins a single adult.
    elif partner is None and 20 <= ref.age(jan1) <= 50 and rng.random() < P.UNION_RATE:
        when = random_date(rng, year)
        age = max(18, ref.age(jan1) + rng.randint(-5, 5))
        foreign = "NON_EU" if ref.origin in ("2", "4") and rng.random() < 0.4 else None
        new = block.new_person(
            "F" if ref.sex == "M" else "M",
            random_date(rng, year - age - 1),
            foreign=foreign,
            arrival=year if foreign else None,
            region=hh.region,
        )
        new.enter = when if foreign else None
        block.join(new, hh, "03")
        if not foreign:  # lived elsewhere in Belgium: a career from 2013 on
            block.late_joiners.append(new)
        _event(
            block,
            new,
            when,
            "IMMIGRATION" if foreign else "MOVE",
            "" if foreign else hh.region,
            hh.municipality,
        )
        partner = None  # no birth in the year of the union
    # Birth: a child of the reference person and partner.
    mother = next((p for p in (ref, partner) if p is not None and p.sex == "F"), None)
    if (
        partner is not None
        and mother is not None
        and 20 <= mother.age(jan1) <= 44
        and rng.random() < P.BIRTH_RATE
    ):
        when = random_date(rng, year)
        child = block.new_person(rng.choice("MF"), when, region=hh.region)
        child.enter = when
        child.origin = "1" if ref.origin == "1" else "2"
        block.born_here_to(child, ref)
        block.join(child, hh, "04")
        _event(block, child, when, "BIRTH", "", hh.municipality)
    # Young adults leave the parental home.
    for p in members:
        if (
            p.relation in ("04", "05")
            and 18 <= p.age(jan1) <= 34
            and p.leave is None
            and rng.random() < P.LEAVE_HOME_RATE
        ):
            _split_off(block, p, hh, random_date(rng, year))


def _split_off(block: Block, p: Person, hh: Household, when: date) -> None:
    rng = block.rng
    region = hh.region if rng.random() < 0.92 else rng.choice(OTHER_REGIONS[hh.region])
    new = block.new_household(region)
    new.tenure = pick(rng, {"1": 0.3, "2": 0.55, "3": 0.12, "4": 0.03})
    block.join(p, new, "01")
    _event(block, p, when, "MOVE", region, new.municipality)


def _arrivals(block: Block, year: int) -> None:
    rng = block.rng
    residents = sum(1 for hh in block.households for p in hh.members if p.leave is None)
    expected = residents * P.ARRIVAL_RATE / 2.2
    n = int(expected) + (rng.random() < expected - int(expected))
    for _ in range(n):
        when = random_date(rng, year)
        hh = block.new_household(pick(rng, {"FL": 0.6, "BR": 0.25, "WA": 0.15}))
        hh.tenure = pick(rng, {"2": 0.75, "3": 0.1, "4": 0.1, "1": 0.05})
        foreign = "EU" if rng.random() < 0.45 else "NON_EU"
        size = pick(rng, {1: 0.45, 2: 0.25, 3: 0.15, 4: 0.15})
        for i in range(size):
            age = rng.randint(20, 50) if i < 2 else rng.randint(0, 17)
            p = block.new_person(
                "M" if i == 0 and rng.random() < 0.6 else rng.choice("MF"),
                random_date(rng, year - age - 1),
                foreign=foreign,
                arrival=year,
            )
            p.enter = when
            block.join(p, hh, "01" if i == 0 else ("03" if i == 1 and age >= 18 else "04"))
            _event(block, p, when, "IMMIGRATION", "", hh.municipality)
