"""Aggregates for the trusted third party's validation notebooks: deliveries (received,
quarantined, linked), population follow-up and year-on-year distributions. Every function
aggregates on the cluster and returns counts, never a record."""
