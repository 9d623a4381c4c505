"""grouping layer."""
