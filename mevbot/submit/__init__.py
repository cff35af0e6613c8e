"""submit stage: the Jito block-engine client, regions with rate limits and hedged sends, bundle status tracking."""
