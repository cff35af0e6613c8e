"""decide stage: the risk engine (ACTIVE / REDUCING / HALTED), limits, and the decision policy."""
