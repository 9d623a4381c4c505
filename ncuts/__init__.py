"""ncuts layer."""
