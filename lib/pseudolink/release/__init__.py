"""The release: coarsening, small cell risk analysis (SCRA), treatment and the released tables."""
