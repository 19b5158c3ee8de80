"""The result of an output check: every cell and margin with its verdict and suppression,
the table that may leave, the checker's report, and the files the job writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pseudolink.masking import mask_insz
from pseudolink.outputcheck.rules import OutputRules
from pseudolink.outputcheck.suppress import PRIMARY, SECONDARY


@dataclass
class CheckedTable:
    """Every cell and margin of a checked table, with its verdict and suppression."""

    cells: pd.DataFrame  # layers, by, count, [total, top1..], verdict, reason, rules, suppression
    by: list[str]
    layers: list[str]
    magnitude: bool
    rules: OutputRules
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No cell fails (cells for review still need a person's decision)."""
        return not (self.cells["verdict"] == "fail").any()

    @property
    def verdicts(self) -> dict[str, int]:
        counts = self.cells["verdict"].value_counts()
        return {v: int(counts.get(v, 0)) for v in ("pass", "review", "fail")}

    @property
    def suppressed(self) -> pd.Series:
        return self.cells["suppression"] != ""

    def figures(self) -> list[str]:
        return ["count", "total"] if self.magnitude else ["count"]

    def report(self) -> pd.DataFrame:
        """Per cell: the figures, the verdict, the reasons in words and the suppression (for
        the output checker; it holds the suppressed values, so it stays in the group)."""
        out = self.cells[[*self.layers, *self.by, *self.figures(), "verdict", "reason"]].copy()
        out["rules"] = self.cells["rules"].map(lambda x: ",".join(x))
        out["suppression"] = self.cells["suppression"]
        return out

    def safe(self) -> pd.DataFrame:
        """The table that may leave: suppressed figures are empty."""
        out = self.cells[[*self.layers, *self.by]].copy()
        hidden = self.suppressed
        out["count"] = self.cells["count"].astype("Int64").mask(hidden)
        if self.magnitude:
            out["total"] = self.cells["total"].astype("Float64").mask(hidden)
        return out

    def wide(self, value: str = "count", **layer: Any) -> pd.DataFrame:
        """The safe table of one layer (``population="2016"``) as rows x columns (two-way) or
        one column (one-way), margins last; suppressed cells are <NA>."""
        safe = self.safe()
        for name, v in layer.items():
            safe = safe[safe[name] == str(v)]
        if len(self.by) == 1:
            return safe.set_index(self.by[0])[[value]]
        row, col = self.by
        table = safe.pivot(index=row, columns=col, values=value)
        return table.loc[
            _order(safe[row].tolist(), self.rules.margin_label),
            _order(safe[col].tolist(), self.rules.margin_label),
        ]

    def summary(self) -> str:
        """One paragraph, without any cell's figures."""
        v = self.verdicts
        kinds = self.cells["suppression"].value_counts()
        broken: dict[str, int] = {}
        for names in self.cells["rules"]:
            for n in names:
                broken[n] = broken.get(n, 0) + 1
        rules = ", ".join(f"{n} {c}" for n, c in sorted(broken.items())) or "none"
        text = (
            f"{len(self.cells)} cells (margins included): {v['pass']} pass, {v['review']} "
            f"review, {v['fail']} fail; suppressed: {int(kinds.get(PRIMARY, 0))} primary, "
            f"{int(kinds.get(SECONDARY, 0))} secondary; rules broken: {rules}."
        )
        return " ".join([text, *self.notes])

    def lines(self, limit: int | None = None) -> list[str]:
        """Per cell, its verdict and reasons in words; failing and review cells first."""
        order = {"fail": 0, "review": 1, "pass": 2}
        cells = self.cells.assign(_o=self.cells["verdict"].map(order)).sort_values(
            "_o", kind="stable"
        )
        out = []
        for _, c in cells.head(limit).iterrows():
            where = ", ".join(f"{k}={c[k]}" for k in [*self.layers, *self.by])
            extra = f" [{c['suppression']} suppression]" if c["suppression"] else ""
            out.append(mask_insz(f"{c['verdict'].upper():<6} {where}: {c['reason']}{extra}") or "")
        return out

    def as_dict(self) -> dict[str, Any]:
        """What was checked, with which rules, and the verdicts (no cell's figures)."""
        r = self.rules
        return {
            "by": self.by,
            "layers": self.layers,
            "passed": self.passed,
            "verdicts": self.verdicts,
            "suppressed": int(self.suppressed.sum()),
            "summary": self.summary(),
            "rules": {
                "min_count": r.min_count,
                "dominance": {"n": r.dominance.n, "k": r.dominance.k},
                "p_ratio": r.p_ratio,
                "zeros": r.zeros,
                "secondary_suppression": r.secondary_suppression,
            },
        }

    def write(self, folder: Path, **extra: Any) -> None:
        """``safe.csv`` (the table that may leave), ``report.csv`` (every cell: figures,
        verdict, reasons, suppression) and ``summary.json`` in a local folder."""
        folder.mkdir(parents=True, exist_ok=True)
        self.safe().to_csv(folder / "safe.csv", index=False)
        self.report().to_csv(folder / "report.csv", index=False)
        summary = {**extra, **self.as_dict()}
        (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")


def _order(values: list[str], label: str) -> list[str]:
    seen = list(dict.fromkeys(values))
    return [v for v in seen if v != label] + ([label] if label in seen else [])
