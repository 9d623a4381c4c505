"""contours layer."""
