"""mevbot: a Solana MEV searcher daemon."""

__version__ = "0.1.0"
