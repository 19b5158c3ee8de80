"""The simulation's parameters, in one place, with the reasoning behind the numbers.

Rates are rough orders of magnitude for Flanders in the 2010s (Statbel, Steunpunt Werk),
tuned so that the three stock populations (resident in the Flemish Region, 18-64, not
working, not retired, not studying on 1 January) are 10-20 % of the 18-64 residents.
"""

from __future__ import annotations

FIRST_YEAR, LAST_YEAR = 2013, 2024
YEARS = range(FIRST_YEAR, LAST_YEAR + 1)
QUARTERS = [(y, q) for y in YEARS for q in (1, 2, 3, 4)]
STATBEL_YEARS = range(2016, 2025)
REFERENCE_YEARS = (2016, 2019, 2022)

# Region of the household on 1 January 2013.
REGION_SHARES = {"FL": 0.80, "WA": 0.12, "BR": 0.08}

# Household types at the start: (type, share).
HOUSEHOLD_TYPES = [
    ("single", 0.33),
    ("couple", 0.27),
    ("couple_kids", 0.27),
    ("single_parent", 0.09),
    ("other", 0.04),
]

# Collective households (care homes, institutions: DEMOBEL household type 6, position 11):
# about one per 1 000 residents at the start, of 3 to 8 adults; a few adults (children of
# 18+ and persons living alone) move into one each year. Nobody in them moves as a
# household or forms a family.
COLLECTIVE_PER_PERSON = 0.001
COLLECTIVE_SIZE = (3, 8)
COLLECTIVE_ENTRY_RATE = 0.002

# Yearly demographic rates.
DEATH_BASE, DEATH_SLOPE = 0.00004, 0.092  # q(age) = base * exp(slope * age), max 0.6
BIRTH_RATE = 0.085  # per woman 20-44 living with a partner
LEAVE_HOME_RATE = 0.13  # children 18-34 leaving the parental home
UNION_RATE = 0.06  # a partner joins a single adult of 20-50
SEPARATION_RATE = 0.025  # per couple
MOVE_WITHIN_RATE = 0.06  # household changes municipality, same region
MOVE_OTHER_REGION_RATE = 0.007  # household leaves for another region
EMIGRATION_RATE = 0.004  # household leaves for abroad
STRUCK_OFF_RATE = 0.0015  # person struck off ex officio (unknown)
ARRIVAL_RATE = 0.009  # arriving households per resident, per year
NATURALISATION_RATE = 0.04  # foreigners resident 5+ years
# A child born in Belgium to a foreign parent keeps that parent's nationality this often
# (Belgian nationality comes at birth only when a parent was born here, or by declaration).
BORN_HERE_FOREIGN_SHARE = 0.5

# Share of persons with a BIS number rather than a national register number, and the
# share of those with an unknown day or month of birth.
BIS_SHARE_ARRIVALS = 0.25
UNKNOWN_DATE_SHARE_BIS = 0.3

# Education (low, middle, high) by birth cohort; moved down for a higher labour risk.
EDUCATION = {"L": 0.22, "M": 0.40, "H": 0.38}
RISK_BY_EDUCATION = {"L": 1.9, "M": 1.0, "H": 0.55}

# Macro states of the quarterly labour market chain.
EMP, SELF, UNEMP, JS, OCMW, SICK, RET, STUD, INACT = (
    "EMP",
    "SELF",
    "UNEMP",
    "JS",
    "OCMW",
    "SICK",
    "RET",
    "STUD",
    "INACT",
)
JOBLESS = (UNEMP, JS, OCMW, SICK, INACT)
REGISTERED = (UNEMP, JS, OCMW)

# Quarterly transitions at ages 25-54 for an average-risk person: {from: {to: p}}.
# Exits out of work are multiplied by the person's risk, entries into work divided by it.
TRANSITIONS = {
    EMP: {UNEMP: 0.006, SICK: 0.0022, INACT: 0.0015, SELF: 0.002, JS: 0.0012, OCMW: 0.0004},
    SELF: {EMP: 0.008, JS: 0.003, INACT: 0.003, SICK: 0.002},
    UNEMP: {EMP: 0.13, SICK: 0.012, JS: 0.012, OCMW: 0.01, INACT: 0.01},
    JS: {EMP: 0.12, UNEMP: 0.03, OCMW: 0.03, INACT: 0.04},
    OCMW: {EMP: 0.05, JS: 0.03, UNEMP: 0.02, INACT: 0.02},
    SICK: {EMP: 0.06, UNEMP: 0.012, INACT: 0.008},
    INACT: {EMP: 0.065, JS: 0.02, OCMW: 0.008, UNEMP: 0.005},
    STUD: {EMP: 0.05, JS: 0.02, UNEMP: 0.015, INACT: 0.008},
    RET: {},
}
INTO_WORK = (EMP, SELF)

# Starting states by age band: {band: {state: p}}.
START = {
    "18-24": {STUD: 0.52, EMP: 0.32, UNEMP: 0.06, JS: 0.04, INACT: 0.03, OCMW: 0.02, SICK: 0.01},
    "25-54": {
        EMP: 0.76,
        SELF: 0.08,
        UNEMP: 0.045,
        JS: 0.015,
        OCMW: 0.012,
        SICK: 0.045,
        INACT: 0.038,
        STUD: 0.005,
    },
    "55-64": {
        EMP: 0.48,
        SELF: 0.07,
        UNEMP: 0.05,
        SICK: 0.10,
        RET: 0.20,
        INACT: 0.08,
        OCMW: 0.01,
        JS: 0.01,
    },
    "65+": {RET: 0.97, SELF: 0.02, EMP: 0.01},
}

# Quarterly euro amounts (of 2016, indexed 2 % a year) for the income data.
WAGE_MEDIAN_QUARTER = 9500.0
SELF_MEDIAN_QUARTER = 8500.0
BENEFIT_QUARTER = {UNEMP: 3700.0, SICK: 4200.0, OCMW: 2900.0, RET: 4600.0}
CHILD_BENEFIT_QUARTER = 480.0
POVERTY_LINE_2016 = 13_700.0  # 60 % of the median equivalised disposable income, a year
INDEXATION = 0.02

# Activation: chance a registered job seeker starts an action in a quarter.
ACTION_START_RATE = 0.16
ACTION_MONTHS = (2, 14)
EARLY_STOP_RATE = 0.22
SANCTION_RATE = 0.03
