"""Quarterly careers: the socio-economic position (a Markov chain with persistence and a
personal risk), the RVA status, the OCMW support type, and VDAB registrations, activation
actions and jobs found after a registration."""

from __future__ import annotations

import random
from datetime import date, timedelta

from pseudolink.generate import params as P
from pseudolink.generate.population import Block, Person, pick

QUARTER_END = [
    date(y, 12, 31) if q == 4 else date(y, 3 * q + 1, 1) - timedelta(days=1) for y, q in P.QUARTERS
]
QUARTER_START = [date(y, 3 * q - 2, 1) for y, q in P.QUARTERS]
PERIOD_END = date(P.LAST_YEAR, 12, 31)


def _band(age: int) -> str:
    return "18-24" if age < 25 else "25-54" if age < 55 else "55-64" if age < 65 else "65+"


def _stable(p: Person, salt: int) -> int:
    """A stable per-person number 0-99 (no extra state to carry)."""
    return (p.pid * 2654435761 + salt * 40503) % 1000003 % 100


def _next_macro(p: Person, prev: str | None, age: int, rng: random.Random) -> str:
    if age < 18:
        return P.STUD
    if prev is None:
        return pick(rng, P.START[_band(age)])
    if age >= 65 and prev != P.RET:
        return P.RET if rng.random() < (0.15 if prev == P.SELF else 0.5) else prev
    if age >= 60 and prev in (P.EMP, P.SICK, P.UNEMP) and rng.random() < 0.02:
        return P.RET
    r, acc = rng.random(), 0.0
    for to, base in P.TRANSITIONS[prev].items():
        pr = base
        if to in P.INTO_WORK:
            pr /= p.risk * (2.0 if age >= 55 else 1.0)
        elif prev in P.INTO_WORK:
            pr *= p.risk
        if prev == P.STUD:
            pr *= 0.3 if age < 22 else (1.0 if age < 25 else 3.0)
        acc += pr
        if r < acc:
            return to
    return prev


def _detail(p: Person, macro: str, prev: tuple | None, age: int) -> str:
    prev_code = prev[1] if prev else ""
    if macro == P.EMP:
        if _stable(p, 1) < 2:
            return "141"
        return "112" if _stable(p, 2) < (35 if p.sex == "F" else 8) else "111"
    if macro == P.SELF:
        return "123" if age >= 65 else ("131" if _stable(p, 3) < 5 else "121")
    if macro == P.UNEMP:
        if prev_code in ("351", "213") and age < 26:
            return "213"
        if prev and prev[0] == P.UNEMP:
            return prev_code
        s = _stable(p, 4)
        return "214" if s < 5 else ("212" if s < 10 else "211")
    if macro == P.RET:
        if prev_code in ("331", "341", "342"):
            return "331" if age >= 65 else prev_code
        return "331" if age >= 65 else ("341" if _stable(p, 5) < 70 else "342")
    if macro == P.INACT:
        if prev and prev[0] == P.INACT:
            return prev_code
        return "311" if prev and prev[0] == P.EMP and _stable(p, 6) < 40 else "391"
    return {P.JS: "219", P.OCMW: "321", P.SICK: "362" if p.disabled else "361", P.STUD: "351"}[
        macro
    ]


def _registered(p: Person, macro: str, region: str) -> bool:
    if region != "FL":
        return False
    if macro in (P.UNEMP, P.JS):
        return True
    if macro == P.OCMW:
        return _stable(p, 7) < 70
    return macro == P.SICK and p.work_limitation != "0" and _stable(p, 8) < 30


def simulate_quarter(block: Block, qi: int) -> None:
    """One quarter for every person present at its end and 15 or older."""
    for p in block.persons:
        step_person(block, p, qi)


def catch_up(block: Block, p: Person, until: int) -> None:
    """The career of a person who joins the block from elsewhere in Belgium, from 2013Q1
    to quarter ``until`` (excluded), in the household they join."""
    for qi in range(until):
        step_person(block, p, qi)


def step_person(block: Block, p: Person, qi: int) -> None:
    rng, qend = block.rng, QUARTER_END[qi]
    if not p.present(qend) or p.hh is None:
        return
    age = p.age(qend)
    if age < 15:
        return
    prev = p.states[qi - 1] if qi else None
    macro = _next_macro(p, prev[0] if prev else None, age, rng)
    code = _detail(p, macro, prev, age)
    if p.enter is not None and p.arrival_year and (qend - p.enter).days < 92:
        code = "400"  # not yet known to social security in the quarter of arrival
    registered = _registered(p, macro, p.hh.region)
    action = _activation(block, p, qi, registered, macro, rng)
    rva = "0"
    if macro == P.UNEMP:
        rva = "12" if action else {"213": "11", "214": "13"}.get(code, "10")
    elif code == "341":
        rva = "15"
    elif macro == P.EMP and rng.random() < 0.015:
        rva = "16"
    art60 = prev[5] if prev and macro == P.EMP else 0
    if macro == P.EMP and prev and prev[0] == P.OCMW and rng.random() < 0.35:
        art60 = qi + rng.randint(4, 8)  # an article-60 job arranged by the OCMW
    ocmw = _ocmw_support(p, macro, age, action, qend)
    if macro == P.EMP and art60 and qi <= art60:
        ocmw = "3"
    start = action[2].strftime("%Y-%m") if action else ""
    p.states[qi] = (macro, code, rva, ocmw, start, art60, registered)
    _vdab(block, p, qi, prev, macro, code, registered, rng)


def _ocmw_support(p: Person, macro: str, age: int, action: list | None, qend: date) -> str:
    if macro != P.OCMW:
        return "0"
    if action:
        return "5" if age < 25 else "4"
    recent = p.cur_nat != "BE" and p.arrival_year and qend.year - p.arrival_year < 5
    return "2" if recent else "1"


def _activation(
    block: Block, p: Person, qi: int, registered: bool, macro: str, rng: random.Random
) -> list | None:
    """The activation action running at the end of quarter ``qi``, starting one maybe."""
    qend = QUARTER_END[qi]
    current = p.actions[-1] if p.actions else None
    if current and current[3] is not None and current[3] >= qend and not current[4]:
        if registered:
            return current
        # Left registration (work, inactivity): the action stops early.
        current[3], current[4] = qend, True
        current[5] = "1" if macro in P.INTO_WORK else "5"
        return None
    if registered and rng.random() < P.ACTION_START_RATE:
        start = QUARTER_START[qi] + timedelta(days=rng.randrange(85))
        months = rng.randint(*P.ACTION_MONTHS)
        end = start + timedelta(days=30 * months)
        early = rng.random() < P.EARLY_STOP_RATE
        reason = "0"
        if early:
            end = start + timedelta(days=rng.randint(20, 30 * months - 1))
            reason = pick(rng, {"2": 0.3, "3": 0.45, "5": 0.25})
        sanction = (
            ("1" if rng.random() < 0.6 else "2")
            if reason == "3" and rng.random() < 0.5
            else ("1" if rng.random() < P.SANCTION_RATE else "0")
        )
        lang = p.dutch in ("0", "1")
        kind = (
            "4"
            if lang and rng.random() < 0.6
            else pick(rng, {"1": 0.45, "2": 0.25, "3": 0.15, "5": 0.1, "6": 0.05})
        )
        partner = (
            "1"
            if macro == P.OCMW
            else ("2" if p.work_limitation != "0" else ("3" if lang and p.arrival_year else "0"))
        )
        block.actions += 1
        action = [
            f"A{block.block:04d}{block.actions:07d}",
            kind,
            start,
            end,
            early,
            reason,
            sanction,
            partner,
        ]
        p.actions.append(action)
        return action if end >= qend else None
    return None


def _vdab(
    block: Block,
    p: Person,
    qi: int,
    prev: tuple | None,
    macro: str,
    code: str,
    registered: bool,
    rng: random.Random,
) -> None:
    qend = QUARTER_END[qi]
    was_registered = bool(prev and prev[6])
    if registered and not was_registered:
        if qi == 0 or prev is None:
            start = qend - timedelta(days=rng.randint(30, 1800))
        else:
            start = QUARTER_START[qi] + timedelta(days=rng.randrange(85))
        earlier = p.vdab[-1] if p.vdab else None
        prior = None
        if earlier and (start - earlier["end"]).days <= 3 * 365:
            months = min(36, max(1, (earlier["end"] - earlier["start"]).days // 30))
            acts = [a for a in p.actions if earlier["start"] <= a[2] <= earlier["end"]]
            prior = (months, acts[-1][1] if acts else "0")
        p.vdab.append(
            {
                "start": start,
                "end": qend,
                "prior": prior,
                "quarters": [],
                "contract": pick(rng, {"P": 0.55, "T": 0.1, "A": 0.35}),
                "regime": pick(rng, {"FT": 0.6, "PT": 0.2, "A": 0.2}),
                "extra_months": rng.randint(0, 24) if prior else 0,
            }
        )
    if registered:
        reg = p.vdab[-1]
        reg["end"] = qend
        status = {"213": "2", "219": "4", "321": "3"}.get(code, "1" if macro == P.UNEMP else "3")
        reg["quarters"].append((qi, status))
    elif was_registered and macro == P.EMP and p.hh.region == "FL":
        start = QUARTER_START[qi] + timedelta(days=rng.randrange(85))
        p.jobs.append(
            (
                start,
                pick(rng, {"F": 0.45, "O": 0.3, "I": 0.25}),
                f"{rng.randint(1, 21):02d}",
                rng.choice(block.municipalities["FL"]),
            )
        )
