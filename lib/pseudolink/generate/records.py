"""Rows of every delivery file, in the schema's column order, from a simulated block.

Statbel's annual files describe 1 January of each year 2016-2024 (the labour market
situation is the KSZ position on the last day of the year before; ADI the income year
before). KSZ and VDAB rows cover every simulated person of 15 or older while they live in
Belgium (VDAB: in the Flemish Region), 2013-2024: a superset of the populations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from pseudolink.generate import params as P
from pseudolink.generate.careers import PERIOD_END, QUARTER_END, _stable
from pseudolink.generate.population import Block, Person

LMS = {
    P.EMP: "1",
    P.SELF: "1",
    P.UNEMP: "2",
    P.JS: "2",
    P.STUD: "3",
    P.RET: "4",
    P.SICK: "5",
    P.OCMW: "6",
    P.INACT: "7",
}
ISCO_BY_EDUCATION = {"L": "9878", "M": "45783", "H": "1223"}
SECTORS = "ABCDEFGHIJKLMNOPQRSTU"


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


def money(x: float) -> str:
    return f"{x:.2f}"


def ksz_rows(block: Block) -> Iterator[list[str]]:
    for p in block.persons:
        for qi, st in enumerate(p.states):
            if st is not None:
                y, q = P.QUARTERS[qi]
                yield [p.insz, f"{y}Q{q}", st[1], st[2], st[3], st[4]]


def vdab_quarterly_rows(block: Block) -> Iterator[list[str]]:
    for p in block.persons:
        for reg in p.vdab:
            start, prior = reg["start"], reg["prior"]
            for qi, status in reg["quarters"]:
                y, q = P.QUARTERS[qi]
                qend = QUARTER_END[qi]
                over = (qend - start).days > 3 * 365
                months = (qend - start).days // 30 + reg["extra_months"]
                distance = (
                    "U"
                    if _stable(p, 9) < 5
                    else ("S" if months < 6 else "M" if months < 24 else "L")
                )
                yield [
                    p.insz,
                    f"{y}Q{q}",
                    "" if over else start.isoformat(),
                    yn(over),
                    yn(prior is not None),
                    str(prior[0]) if prior else "",
                    yn(bool(prior and prior[1] != "0")),
                    prior[1] if prior else "0",
                    reg["contract"],
                    reg["regime"],
                    str(months),
                    distance,
                    p.work_limitation,
                    p.dutch,
                    status,
                ]


def vdab_activation_rows(block: Block) -> Iterator[list[str]]:
    for p in block.persons:
        for a in p.actions:
            action_id, kind, start, end, early, reason, sanction, partner = a
            if p.leave is not None and end is not None and end > p.leave:
                end, early, reason = p.leave, True, "4" if p.leave_kind != "died" else "5"
            shown_end = "" if end is None or end > PERIOD_END else end.isoformat()
            yield [
                p.insz,
                action_id,
                kind,
                start.isoformat(),
                shown_end,
                yn(early),
                reason if early else "0",
                sanction,
                partner,
            ]


def vdab_employment_rows(block: Block) -> Iterator[list[str]]:
    for p in block.persons:
        for start, contract, sector, muni in p.jobs:
            yield [p.insz, start.isoformat(), contract, sector, muni]


def _households(block: Block, year: int) -> dict[str, list[Person]]:
    members: dict[str, list[Person]] = defaultdict(list)
    for p in block.persons:
        snap = p.snap.get(year)
        if snap is not None:
            members[snap[0]].append(p)
    return members


def _household_type(relations: list[str]) -> str:
    if len(relations) == 1:
        return "1"
    partner = any(r in ("02", "03") for r in relations)
    children = any(r in ("04", "05") for r in relations)
    if partner:
        return "3" if children else "2"
    return "4" if children and all(r in ("01", "04", "05") for r in relations) else "5"


def _position(relation: str, htype: str) -> str:
    if relation in ("01", "02", "03"):
        if htype == "1":
            return "08"
        married = relation == "02"
        if htype == "2":
            return "03" if married else "05"
        if htype == "3":
            return "04" if married else "06"
        return "07" if htype == "4" and relation == "01" else "09"
    if relation in ("04", "05"):
        return "01" if htype == "3" else "02" if htype == "4" else "09"
    return "10" if relation == "08" else "09"


def statbel_rows(block: Block, year: int) -> tuple[list, list, list]:
    """DEMOBEL, CENSUS and ADI rows for 1 January ``year``."""
    demobel, census, adi = [], [], []
    jan1 = date(year, 1, 1)
    qi_dec = (year - 1 - P.FIRST_YEAR) * 4 + 3  # last quarter of the year before
    income_quarters = range(qi_dec - 3, qi_dec + 1) if qi_dec >= 3 else range(0)
    index = (1 + P.INDEXATION) ** (year - 1 - 2016)
    poverty_line = P.POVERTY_LINE_2016 * index
    collective = {hh.hid for hh in block.households if hh.collective}
    for hid, members in _households(block, year).items():
        relations = [p.snap[year][1] for p in members]
        htype = "6" if hid in collective else _household_type(relations)
        ref = next((p for p in members if p.snap[year][1] == "01"), members[0])
        kids = [p for p in members if p.age(jan1) < 18]
        incomes = {p.pid: _income(p, income_quarters, index, len(kids)) for p in members}
        household_income = sum(i["disposable_income_person"] for i in incomes.values())
        adults = sum(1 for p in members if p.age(jan1) >= 14)
        scale = 1 + 0.5 * max(0, adults - 1) + 0.3 * (len(members) - adults)
        equivalised = household_income / scale
        international = _stable(ref, 11) == 0 and _stable(ref, 12) < 30
        child_household = sum(i["child_benefit_person"] for i in incomes.values())
        hh = members[0].hh
        for p in members:
            h, relation, muni, _region, nat = p.snap[year]
            age = p.age(jan1)
            birth_date = p.birth.isoformat() if p.month_known and p.day_known else ""
            demobel.append(
                [
                    p.insz,
                    hid,
                    str(year),
                    ref.insz,
                    relation,
                    p.sex,
                    str(p.birth.year),
                    birth_date,
                    str(age),
                    muni,
                    htype,
                    "11" if htype == "6" else _position(relation, htype),
                    p.place_of_birth,
                    p.first_nat,
                    nat,
                    p.origin,
                ]
            )
            census.append(_census(p, hid, year, age, len(members), qi_dec, hh))
            inc = incomes[p.pid]
            inc["child_benefit_household"] = child_household
            inc["disposable_income_household"] = household_income
            inc["disposable_income_equivalised"] = equivalised
            adi.append(
                [p.insz, hid, str(year)]
                + [money(inc[k]) for k in ADI_AMOUNTS]
                + [yn(international), yn(equivalised < poverty_line)]
            )
    return demobel, census, adi


def _census(p: Person, hid: str, year: int, age: int, size: int, qi: int, hh) -> list[str]:
    st = p.states[qi] if qi >= 0 else None
    macro = st[0] if st else None
    lms = LMS[macro] if macro else ("3" if age < 15 else "7")
    working = macro in (P.EMP, P.SELF)
    code = st[1] if st else ""
    edu = p.education if age >= 15 else "U"
    prof = occ = imputed = sector = same = perf = wtime = ""
    jobs = "0"
    if working:
        if macro == P.SELF:
            prof = "07" if code == "131" else ("06" if _stable(p, 13) < 25 else "05")
        else:
            s = _stable(p, 14)
            prof = "03" if s < 12 else ("01" if p.education == "L" or s < 35 else "02")
        occ = ISCO_BY_EDUCATION[p.education][_stable(p, 15) % len(ISCO_BY_EDUCATION[p.education])]
        imputed = yn(_stable(p, 16) < 15)
        jobs = "2" if code in ("141", "142") or _stable(p, 17) < 6 else "1"
        sector = SECTORS[_stable(p, 18) % 21]
        same = yn(_stable(p, 19) < 78)
        part = code == "112"
        perf = ("2" if _stable(p, 20) < 70 else "3") if part else "1"
        wtime = ("2" if _stable(p, 21) < 70 else "1") if part else "4"
    rooms = hh.rooms if hh is not None else 4
    return [
        p.insz,
        hid,
        str(year),
        str(size),
        str(p.arrival_year or ""),
        edu,
        lms,
        yn(macro in (P.UNEMP, P.JS) or bool(st and st[6])),
        yn(bool(st and st[3] != "0")),
        yn(macro == P.INACT),
        yn(p.disabled or code == "362"),
        yn(macro == P.STUD and age >= 15),
        yn(working and _stable(p, 22) < 6),
        yn(working and p.sex == "F" and p.education == "L" and _stable(p, 23) < 12),
        prof,
        occ,
        imputed,
        jobs,
        sector,
        same,
        perf,
        wtime,
        hh.tenure if hh is not None else "9",
        f"{rooms / size:.2f}",
    ]


ADI_AMOUNTS = [
    "income_wages",
    "income_self_employment",
    "income_real_estate",
    "income_capital",
    "refunds",
    "maintenance_received",
    "benefit_integration_income",
    "benefit_integration_income_equivalent",
    "benefit_unemployment",
    "benefit_sickness_invalidity",
    "pension_first_pillar",
    "pension_second_pillar",
    "pension_survivor",
    "child_benefit_person",
    "child_benefit_household",
    "disposable_income_person",
    "disposable_income_household",
    "disposable_income_equivalised",
    "tax_prepayments",
    "withholding_tax",
    "special_social_security_contribution",
    "withholding_tax_movable",
    "taxes_due",
    "maintenance_paid",
]


def _income(p: Person, quarters: range, index: float, kids: int) -> dict[str, float]:
    inc = dict.fromkeys(ADI_AMOUNTS, 0.0)
    for qi in quarters:
        st = p.states[qi]
        if st is None:
            continue
        macro, code, ocmw = st[0], st[1], st[3]
        if macro == P.EMP:
            inc["income_wages"] += p.wage * (0.55 if code == "112" else 1.0) * index
        elif macro == P.SELF:
            inc["income_self_employment"] += (
                P.SELF_MEDIAN_QUARTER * p.wage / P.WAGE_MEDIAN_QUARTER * index
            )
        elif macro == P.UNEMP:
            inc["benefit_unemployment"] += P.BENEFIT_QUARTER[P.UNEMP] * index
        elif macro == P.SICK:
            inc["benefit_sickness_invalidity"] += P.BENEFIT_QUARTER[P.SICK] * index
        elif macro == P.OCMW:
            key = (
                "benefit_integration_income_equivalent"
                if ocmw == "2"
                else "benefit_integration_income"
            )
            inc[key] += P.BENEFIT_QUARTER[P.OCMW] * index
        elif macro == P.RET:
            inc["pension_first_pillar"] += P.BENEFIT_QUARTER[P.RET] * index
            if p.education == "H" and _stable(p, 24) < 40:
                inc["pension_second_pillar"] += 900 * index
            if p.sex == "F" and _stable(p, 25) < 10:
                inc["pension_survivor"] += 1100 * index
    if p.birth.year >= quarters.start // 4 + P.FIRST_YEAR - 18 and len(quarters) and kids:
        inc["child_benefit_person"] = P.CHILD_BENEFIT_QUARTER * 4 * index
    s = _stable(p, 26)
    earned = inc["income_wages"] + inc["income_self_employment"]
    if s < 20:
        inc["income_real_estate"] = 400 + 30 * s * index
    if s < 30:
        inc["income_capital"] = 50 + 25 * s * index
    if earned and s < 40:
        inc["refunds"] = 20 + 5 * s
    if s >= 96:
        inc["maintenance_received"] = 1800 * index
    if s in (90, 91):
        inc["maintenance_paid"] = 2400 * index
    inc["withholding_tax"] = 0.24 * inc["income_wages"]
    inc["special_social_security_contribution"] = min(731.0, 0.009 * inc["income_wages"])
    inc["tax_prepayments"] = 0.18 * inc["income_self_employment"]
    inc["withholding_tax_movable"] = 0.30 * inc["income_capital"]
    inc["taxes_due"] = 0.26 * earned - inc["withholding_tax"] - inc["tax_prepayments"]
    gross = sum(inc[k] for k in ADI_AMOUNTS[:15] if k != "child_benefit_household")
    paid = (
        inc["withholding_tax"]
        + inc["special_social_security_contribution"]
        + inc["tax_prepayments"]
        + inc["withholding_tax_movable"]
        + inc["taxes_due"]
        + inc["maintenance_paid"]
    )
    inc["disposable_income_person"] = gross - paid
    return inc


def event_rows(block: Block) -> Iterator[list[str]]:
    """One row per person, date and event: two events of a kind on the same day (a
    household move and leaving it) are registered as one, the later in the simulation."""
    last: dict[tuple, list[str]] = {}
    for p, hid, when, kind, dest, muni in block.events:
        if when.year in P.STATBEL_YEARS:
            key = (p.insz, when, kind)
            last.pop(key, None)  # keep the order of the kept (latest) events
            last[key] = [p.insz, hid, when.isoformat(), kind, dest, muni]
    yield from last.values()
