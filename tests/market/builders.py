"""Small hand-made markets for tests: real account bytes from the venues' encoders, chosen reserves."""

from __future__ import annotations

import random

from solders.pubkey import Pubkey

from mevbot.dex.spl_token import NATIVE_MINT, TOKEN_PROGRAM_ID
from mevbot.events import Account
from mevbot.market.model import MarketModel
from mevbot.sandbox.universe_pools import (
    AccountSink,
    PricedPool,
    Token,
    build_cpmm_configs,
    build_pool,
    mints_out_of_order,
    random_pubkey,
)


class MarketBuilder:
    """Tokens and pools at the reserves a test names (a Whirlpool's are its active virtual reserves)."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.sink = AccountSink()
        self.whirlpools_config = random_pubkey(self.rng)
        build_cpmm_configs(self.sink)

    def token(
        self, symbol: str, decimals: int = 6, native: bool = False, program: Pubkey = TOKEN_PROGRAM_ID,
        extensions: tuple[tuple[int, bytes], ...] = (),
    ) -> Token:  # fmt: skip
        mint = NATIVE_MINT if native else random_pubkey(self.rng)
        token = Token(mint, symbol, decimals, 1.0, program=program, extensions=extensions)
        self.sink.add_mint(token, supply=10**15)
        return token

    def pool(self, venue: str, x: Token, y: Token, reserve_x: int, reserve_y: int, tier: int = 0) -> Pubkey:
        if mints_out_of_order(venue, x, y):
            x, y, reserve_x, reserve_y = y, x, reserve_y, reserve_x
        spec = PricedPool(venue, x, y, reserve_y / reserve_x, reserve_x, tier)
        return build_pool(spec, self.whirlpools_config, self.rng, self.sink)

    @property
    def accounts(self) -> list[Account]:
        return list(self.sink.accounts)

    def model(self) -> MarketModel:
        model, rejected = MarketModel.from_accounts(self.accounts)
        assert not rejected, rejected
        return model
