"""simulate stage: exact route replay, LiteSVM preflight, RPC simulateTransaction. Each rejection has a code."""
