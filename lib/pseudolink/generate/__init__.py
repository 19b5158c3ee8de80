"""The synthetic population and its source deliveries: the embedded default data.

A household-based microsimulation over 2013-2024 (:mod:`.population`, :mod:`.careers`)
turned into the deliveries of Statbel, KSZ and VDAB (:mod:`.records`, :mod:`.writer`),
with the generator's own truth (:mod:`.truth`). Each block of households is simulated
by one Spark task from a seed derived from (seed, block), so the output depends only on
the seed and the number of persons, never on the cluster.
"""
