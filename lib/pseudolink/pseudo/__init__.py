"""Pseudonymisation: keyed tokens, the key table of sequence numbers, the replacement."""
