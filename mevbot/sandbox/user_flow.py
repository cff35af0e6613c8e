"""Simulated users: a seeded stream of swaps that lands at the start of every slot and moves prices.

Each slot draws a Poisson number of swaps; each picks a pool and a side uniformly and trades a
Pareto-distributed share of the input vault (most trades are small, a few are large), capped so no
single trade drains a pool. Users accept 1 % slippage from the exact quote. The draw for a slot
depends only on the seed and the slot number, so a run replays.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from mevbot.dex import spl_token
from mevbot.dex.base import DexError
from mevbot.sandbox.bank import Bank
from mevbot.sandbox.pools import PoolBook, swap_instruction, vault_addresses
from mevbot.sandbox.transactions import TransactionRejected

SLIPPAGE_BPS = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trader:
    """A funded wallet: its keypair and its token account per mint."""

    keypair: Keypair
    token_accounts: Mapping[Pubkey, Pubkey]


@dataclass(frozen=True, slots=True)
class FlowShape:
    """How much users trade: mean swaps per slot, and the size distribution as vault shares."""

    swaps_per_slot: float = 2.0
    pareto_alpha: float = 1.3
    min_fraction: float = 0.0002
    max_fraction: float = 0.03


class UserFlow:
    """Lands the slot's user swaps in the bank (register `on_slot` with the slot clock)."""

    def __init__(
        self, bank: Bank, book: PoolBook, users: Sequence[Trader], shape: FlowShape, seed: int
    ) -> None:
        if not users:
            raise ValueError("a user flow needs at least one user")
        self._bank = bank
        self._book = book
        self._users = list(users)
        self._shape = shape
        self._seed = seed
        self.landed = 0
        self.failed = 0

    def on_slot(self, slot: int) -> None:
        if self._shape.swaps_per_slot <= 0:
            return
        rng = random.Random(f"user-flow:{self._seed}:{slot}")
        for index in range(_poisson(rng, self._shape.swaps_per_slot)):
            user = self._users[(slot + index) % len(self._users)]
            transaction = self._draw_swap(rng, user)
            if transaction is None:
                continue
            try:
                result = self._bank.process_transaction(transaction)
            except TransactionRejected as rejected:
                log.debug("user swap rejected: %s", rejected)
                self.failed += 1
                continue
            if result.ok:
                self.landed += 1
            else:
                self.failed += 1

    def _draw_swap(self, rng: random.Random, user: Trader) -> VersionedTransaction | None:
        address = rng.choice(self._book.addresses)
        venue = self._book.venue(address)
        try:
            pool, state = self._book.load(address)
        except (DexError, KeyError):
            return None
        a_to_b = rng.random() < 0.5
        vault = self._bank.get_account(vault_addresses(venue.name, pool)[0 if a_to_b else 1])
        if vault is None:
            return None
        depth = spl_token.token_amount(bytes(vault.data))
        fraction = min(
            self._shape.max_fraction, self._shape.min_fraction * rng.paretovariate(self._shape.pareto_alpha)
        )
        amount_in = max(1, math.floor(depth * fraction))
        try:
            quote = venue.quote_exact_in(state, amount_in, a_to_b)
        except (DexError, ValueError):
            return None
        minimum_out = quote.amount_out * (10_000 - SLIPPAGE_BPS) // 10_000
        mint_in = pool.mint_a if a_to_b else pool.mint_b
        owner = user.keypair.pubkey()
        instruction = swap_instruction(
            venue.name, pool, owner, user.token_accounts, mint_in, amount_in, minimum_out,
            self._book.token_programs(pool),
        )
        message = MessageV0.try_compile(owner, [instruction], [], self._bank.latest_blockhash)
        return VersionedTransaction(message, [user.keypair])


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's draw: fine for the small means a slot has."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
