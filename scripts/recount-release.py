"""Recount a written release against the intruder model, with the test oracle's own
counting (tests/test_scra_oracle.py: pandas and numpy, no code of the release's SCRA).

    .venv/bin/python scripts/recount-release.py RELEASE_FOLDER [--conf DIR]

For the benchmark's releases (100 000 and 1 000 000 persons), which the suite does not
build. Prints, per scenario and population, the units counted, those below k and the
smallest frequency; exits 1 when any unit is below k. Scenarios the release's profile
skipped (its scra/scra.json) are named and not counted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(HOME / "tests"), str(HOME / "lib")]

import test_scra_oracle as oracle  # noqa: E402

from pseudolink.session import notebook_spark  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("release", help="a release folder (ROOT/release/<release-id>)")
    parser.add_argument("--conf", default=str(HOME / "conf"), help="folder of release.yaml")
    args = parser.parse_args(argv)
    folder = Path(args.release)
    scra = json.loads((folder / "scra" / "scra.json").read_text())
    model = oracle.intruder_model(Path(args.conf))
    skipped = scra.get("profile", {}).get("skipped_scenarios", [])
    spark = notebook_spark("pseudolink-recount")
    spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    key_tables = oracle.key_tables(model)

    def load(name: str, wanted: set[str] | None = None):
        """A released table as pandas; for the annual tables only the identifiers and the
        keys released there (they are wide and long)."""
        df = spark.read.format("delta").load(str(folder / name))
        if wanted is not None:
            df = df.select(*[c for c in df.columns if c in wanted])
        return df.toPandas()

    started = time.monotonic()
    tables = {n: load(n) for n in ("persons", "household_membership")}
    for name in oracle.PERSON_YEAR_TABLES:
        keys = {k for k, t in key_tables.items() if t == name}
        tables[name] = load(name, set(oracle.ID_COLUMNS) | keys)
    annual = oracle.annual_of(tables)
    print(f"read in {time.monotonic() - started:.1f} s: {len(tables['persons']):,} persons rows")
    failed = False
    for name, sc in model["scenarios"].items():
        if name in skipped:
            print(f"{name}: skipped by the release's profile")
            continue
        t0 = time.monotonic()
        k = sc["k"]
        if sc["unit"] == "person":
            keys = list(sc["keys"])
            frame = oracle.person_frame(tables["persons"], annual, keys, key_tables)
            if sc.get("event"):
                events = oracle.event_key(tables["persons"], tables["household_membership"])
                frame[["_event", "_event_kind"]] = events
                keys += ["_event", "_event_kind"]
            parts = {"persons": (frame, oracle.fk_per_population(frame, keys))}
        elif sc["unit"] == "household":
            households = oracle.household_frame(
                tables["persons"],
                annual,
                list(sc["keys"]),
                list(sc["member_keys"]),
                key_tables,
            )
            parts = {"households": (households, oracle.household_counts(households))}
        else:
            parts = {}
            for table, columns in sc["tables"].items():
                frame = load(table, {"population", *columns})
                parts[table] = (frame, oracle.fk_per_population(frame, list(columns)))
        for what, (frame, counts) in parts.items():
            for population, fk in counts.groupby(frame["population"]):
                below = int((fk < k).sum())
                failed |= below > 0
                print(
                    f"{name} ({what}, k = {k}) population {population}: {len(fk):,} units, "
                    f"{below:,} below k, smallest frequency {int(fk.min()) if len(fk) else '-'}"
                )
        print(f"{name}: recounted in {time.monotonic() - t0:.1f} s")
    spark.stop()
    print("FAIL: units below k" if failed else "PASS: every unit of every scenario is at k or more")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
