"""The three stock populations: index persons, their household members, follow-up,
moves out of the region and observation windows, from Statbel's bronze tables.

The rules are the ones written in :mod:`pseudolink.generate.truth`, which the generator
applies to its own state; the tests match the two exactly at demo scale.
"""
