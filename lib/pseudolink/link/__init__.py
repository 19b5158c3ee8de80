"""Linkage: source rows to the populations, within each population's windows."""
