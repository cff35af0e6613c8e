"""DuckDB tables. Amounts are HUGEINT: u64 values and their sums never overflow or round."""

TABLES: dict[str, str] = {
    "opportunities": """
        id BIGINT PRIMARY KEY, ts DOUBLE, slot BIGINT, route VARCHAR, venues VARCHAR, hops INTEGER,
        mint VARCHAR, amount_in HUGEINT, amount_out HUGEINT, profit HUGEINT""",
    "decisions": """
        seq BIGINT PRIMARY KEY, ts DOUBLE, opportunity_id BIGINT, send BOOLEAN, reason VARCHAR,
        tip_lamports HUGEINT, fee_lamports HUGEINT, expected_net_lamports HUGEINT, arm VARCHAR,
        prev_hash VARCHAR, payload VARCHAR, hash VARCHAR""",
    "bundles": """
        bundle_id VARCHAR, ts DOUBLE, decision_seq BIGINT, regions VARCHAR, refused VARCHAR,
        tip_lamports HUGEINT, dry_run BOOLEAN""",
    "bundle_results": """
        bundle_id VARCHAR, ts DOUBLE, outcome VARCHAR, status VARCHAR, landed_slot BIGINT, reason VARCHAR,
        pnl_lamports HUGEINT, tip_paid_lamports HUGEINT, fee_paid_lamports HUGEINT""",
    "risk_transitions": """
        ts DOUBLE, state VARCHAR, reason VARCHAR, until DOUBLE""",
    "balances": """
        ts DOUBLE, slot BIGINT, mint VARCHAR, amount HUGEINT""",
    "bandit_arms": """
        ts DOUBLE, context VARCHAR, arm VARCHAR, payoff DOUBLE, alpha DOUBLE, beta DOUBLE, pulls BIGINT,
        reward_sum DOUBLE, explored BIGINT""",
    "control_acks": """
        seq BIGINT PRIMARY KEY, ts DOUBLE, command VARCHAR, accepted BOOLEAN, reason VARCHAR, signers VARCHAR,
        nonce VARCHAR, envelope_sha256 VARCHAR, prev_hash VARCHAR, payload VARCHAR, hash VARCHAR""",
    "costs": """
        ts DOUBLE, kind VARCHAR, lamports HUGEINT, detail VARCHAR""",
    "latencies": """
        ts DOUBLE, stage VARCHAR, n BIGINT, p50_us DOUBLE, p99_us DOUBLE""",
}
