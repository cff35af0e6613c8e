"""ingest stage: turns the outside world into AccountUpdate and SlotTick events (RPC snapshots, PubSub)."""
