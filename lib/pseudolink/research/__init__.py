"""Building blocks for the researchers, on the release only: the socio-economic position in
groups, quarter-to-quarter transitions, outcomes after an activation action, and shares
computed from output-checked tables. Every function returns microdata for
:func:`pseudolink.outputcheck.check_output` or works on a checked table: nothing here is a
result to publish before the output check."""
