"""Output checking: the rules an aggregated table must pass before it leaves the research
group (minimum count, dominance, p-ratio, zeros), per-cell verdicts with the reasons in
words, and primary and secondary suppression. Rules: conf/output_check.yaml; design and
limits: docs/outputcheck.md.

    from pseudolink.outputcheck import check_output
    checked = check_output(df, by=["sex", "age_class"], layers=["population"],
                           contributor="person_id")
    checked.safe()      # the table that may leave (suppressed cells empty)
    checked.report()    # per cell: verdict, reasons, suppression (stays in the group)
"""

from pseudolink.outputcheck.check import check_output
from pseudolink.outputcheck.rules import OutputRules, load_output_rules
from pseudolink.outputcheck.table import CheckedTable

__all__ = ["CheckedTable", "OutputRules", "check_output", "load_output_rules"]
