"""Secondary suppression: failing cells must not come back through the margins.

A table with margins is a set of additive relations: in a two-way table every row (margin
row included) adds up to its row total and every column to its column total; in a one-way
table the cells add up to the total. A cell suppressed alone in such a line is its margin
minus the others. Per table (each combination of the layer columns):

1. **Rectangles** (two-way tables). For each failing cell, in the table's order, the
   cheapest rectangle through it: a cell of its row, a cell of its column and the cell
   where those cross, so that the four lie on a cycle (every row and column they touch
   holds two of them). Cells already suppressed cost nothing; among the rest, the fewest
   margins, then the fewest zeros (a suppressed zero is recognised by anyone who knows the
   group is empty), then the smallest sum of counts. This is the hypercube idea of
   τ-ARGUS (GHMITER) in two dimensions, without its protection-interval requirement.
2. **Lines** (one-way tables, and a safety net). While some line holds exactly one
   suppressed cell, suppress one more cell of that line: inner cells before margins,
   non-empty cells before zeros, the smallest count, the table's order.
3. **Linear audit.** Every suppressed cell is checked against all the relations together
   (linear algebra): a cell is exactly determined when a combination of the published
   cells and margins gives its value (in a two-way table: a suppressed cell on no cycle of
   suppressed cells). For such a cell, the eligible cell of its row chosen as in step 2
   (else of its column) is suppressed, and step 2 runs again.

What it guarantees: no suppressed cell can be computed exactly from the published cells and
margins of its table. What it does not: it is a greedy heuristic, not τ-ARGUS's optimal
(linear programming) method, so it may suppress more than needed; it gives no protection
interval (from non-negativity an intruder may still bound a suppressed cell, e.g. below the
minimum count, when its complements are small); it knows only the margins of its own
table, not other tables published from the same data (linked tables), nor tables of more
than two dimensions other than as independent layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PRIMARY, SECONDARY = "primary", "secondary"


@dataclass
class Grid:
    """One table's cells placed on a grid: rows and columns of labels, the margin last."""

    index: list[int]  # the cells' positions in the table of cells
    row: list[int]
    col: list[int]
    row_margin: int | None  # the grid row of the margin row (two-way tables)
    col_margin: int | None  # the grid column of the margin column
    counts: list[float]
    suppressed: set[int] = field(default_factory=set)  # positions in ``index``
    lines: list[list[int]] = field(default_factory=list)  # the additive relations

    def __post_init__(self) -> None:
        rows: dict[int, list[int]] = {}
        cols: dict[int, list[int]] = {}
        for k, (r, c) in enumerate(zip(self.row, self.col, strict=True)):
            rows.setdefault(r, []).append(k)
            cols.setdefault(c, []).append(k)
        self.in_row, self.in_col = rows, cols
        lines = list(rows.values()) if self.col_margin is not None else []
        lines += list(cols.values()) if self.row_margin is not None else []
        self.lines = [line for line in lines if len(line) > 1]

    def is_margin(self, k: int) -> bool:
        return self.row[k] == self.row_margin or self.col[k] == self.col_margin


def place(cells: pd.DataFrame, positions: list[int], by: list[str], label: str) -> Grid:
    """The grid of one table (``positions``: its rows in ``cells``)."""
    sub = cells.iloc[positions]
    axes = [_ordered(sub[b].tolist(), label) for b in by]
    rows = axes[0] if len(by) == 2 else ["_"]
    cols = axes[-1]
    r_of = {v: i for i, v in enumerate(rows)}
    c_of = {v: i for i, v in enumerate(cols)}
    row = [r_of[v] for v in sub[by[0]]] if len(by) == 2 else [0] * len(sub)
    col = [c_of[v] for v in sub[by[-1]]]
    has = {b: label in set(sub[b]) for b in by}
    return Grid(
        index=list(positions),
        row=row,
        col=col,
        row_margin=r_of[label] if len(by) == 2 and has[by[0]] else None,
        col_margin=c_of[label] if has[by[-1]] else None,
        counts=sub["count"].astype(float).tolist(),
    )


def _ordered(values: list[str], label: str) -> list[str]:
    seen = list(dict.fromkeys(values))
    return [v for v in seen if v != label] + ([label] if label in seen else [])


def secondary(grid: Grid) -> tuple[set[int], list[int]]:
    """Add secondary suppressions to ``grid.suppressed``; return them and the suppressed
    cells still exactly determined (nothing left to suppress for them)."""
    primary = set(grid.suppressed)
    if not primary:
        return set(), []
    rectangles(grid, sorted(primary))
    stuck = close_lines(grid)
    return grid.suppressed - primary, stuck


def close_lines(grid: Grid) -> list[int]:
    """Steps 2 and 3: suppress until no line holds a single suppressed cell and no
    suppressed cell is exactly determined; return the determined cells left (nothing more
    to suppress for them)."""
    stuck: list[int] = []
    while True:
        single = next((line for line in grid.lines if _count(line, grid.suppressed) == 1), None)
        if single is not None:
            pick = _choose(grid, single)
            if pick is None:  # cannot happen: a line with one suppressed cell has another
                break
            grid.suppressed.add(pick)
            continue
        exposed = exposed_cells(grid)
        fixable = None
        for k in exposed:
            fixable = (
                _choose(grid, grid.in_row[grid.row[k]]) if grid.col_margin is not None else None
            )
            if fixable is None and grid.row_margin is not None:
                fixable = _choose(grid, grid.in_col[grid.col[k]])
            if fixable is not None:
                break
        if fixable is None:
            stuck = exposed
            break
        grid.suppressed.add(fixable)
    return stuck


def rectangles(grid: Grid, cells: list[int]) -> None:
    """For each of ``cells`` (two-way tables with both margins), suppress the cheapest
    rectangle through it (see the module's step 1)."""
    if grid.row_margin is None or grid.col_margin is None:
        return
    at = {(r, c): k for k, (r, c) in enumerate(zip(grid.row, grid.col, strict=True))}
    rows, cols = sorted(grid.in_row), sorted(grid.in_col)
    for k in cells:
        r, c = grid.row[k], grid.col[k]
        best: tuple | None = None
        for r2 in rows:
            for c2 in cols:
                corners = [at.get((r, c2)), at.get((r2, c)), at.get((r2, c2))]
                if r2 == r or c2 == c or None in corners:
                    continue
                new = [j for j in corners if j is not None and j not in grid.suppressed]
                cost = (
                    sum(grid.is_margin(j) for j in new),
                    sum(grid.counts[j] == 0 for j in new),
                    sum(grid.counts[j] for j in new),
                    r2,
                    c2,
                )
                if best is None or cost < best[0]:
                    best = (cost, new)
        if best is not None:
            grid.suppressed.update(best[1])


def _count(line: list[int], suppressed: set[int]) -> int:
    return sum(1 for k in line if k in suppressed)


def _choose(grid: Grid, line: list[int]) -> int | None:
    """The eligible cell of ``line`` to suppress next: inner before margin, non-zero before
    zero, the smallest count, then the table's order."""
    free = [k for k in line if k not in grid.suppressed]
    if not free:
        return None
    return min(free, key=lambda k: (grid.is_margin(k), grid.counts[k] == 0, grid.counts[k], k))


def exposed_cells(grid: Grid) -> list[int]:
    """The suppressed cells whose value follows exactly from the published cells and the
    margins: e_k lies in the row space of the relations restricted to the suppressed cells."""
    hidden = sorted(grid.suppressed)
    if not hidden:
        return []
    relations = []
    for line in grid.lines:
        margin = next(k for k in line if _is_line_margin(grid, line, k))
        relations.append([(-1.0 if k == margin else 1.0) if k in line else 0.0 for k in hidden])
    if not relations:
        return []
    a = np.array(relations)
    rank = np.linalg.matrix_rank(a)
    out = []
    for i, k in enumerate(hidden):
        unit = np.zeros((1, len(hidden)))
        unit[0, i] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.append(k)
    return out


def _is_line_margin(grid: Grid, line: list[int], k: int) -> bool:
    """The margin of a line: the cell in the margin column (of a row) or the margin row (of
    a column), told apart by the line's direction."""
    same_row = all(grid.row[j] == grid.row[line[0]] for j in line)
    return grid.col[k] == grid.col_margin if same_row else grid.row[k] == grid.row_margin


def suppress(
    cells: pd.DataFrame, by: list[str], layers: list[str], label: str, secondary_on: bool
) -> tuple[pd.Series, list[int]]:
    """``suppression`` per cell ('primary' for failing cells, 'secondary', or ''), and the
    positions of suppressed cells that stay exactly determined."""
    out = pd.Series("", index=cells.index, dtype=object)
    fail = (cells["verdict"] == "fail").to_numpy()
    out[fail] = PRIMARY
    if not secondary_on:
        return out, []
    stuck: list[int] = []
    groups = cells.groupby(layers, sort=False).indices if layers else {(): np.arange(len(cells))}
    for positions in groups.values():
        grid = place(cells, list(positions), by, label)
        grid.suppressed = {k for k, p in enumerate(grid.index) if fail[p]}
        added, left = secondary(grid)
        for k in added:
            out.iloc[grid.index[k]] = SECONDARY
        stuck += [grid.index[k] for k in left]
    return out, stuck
