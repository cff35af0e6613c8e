"""market stage."""
