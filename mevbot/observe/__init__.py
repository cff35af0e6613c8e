"""observe stage: the DuckDB store and its single writer, Decision DNA, PnL."""
