"""Summary and archive pages."""
