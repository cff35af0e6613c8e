"""Pools as the sandbox's own traders see them: exact state from the bank, quotes, swap instructions.

The simulated users and the competing searchers trade through the same `dex/` venues as the
daemon: decode the pool, load its dependencies, quote exactly, build the venue's real swap
instruction. This module is that glue, once, for all of them (and for tests that build trades).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from solders.account import Account
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, whirlpool
from mevbot.dex.base import DexError, Quote, Venue
from mevbot.dex.registry import venue_by_name
from mevbot.dex.spl_token import TOKEN_PROGRAM_ID, mint_token_program

AccountReader = Callable[[Pubkey], Account | None]


@dataclass(frozen=True, slots=True)
class Hop:
    """One swap of a route: trade `mint_in` on `pool`."""

    pool: Pubkey
    mint_in: Pubkey


class PoolBook:
    """Pool address → venue, read fresh from an account source (the bank, or an RPC snapshot)."""

    def __init__(self, venues: Mapping[Pubkey, str], read: AccountReader) -> None:
        self._venues: dict[Pubkey, Venue] = {address: venue_by_name(name) for address, name in venues.items()}
        self._read = read
        self._programs: dict[Pubkey, Pubkey] = {}  # mint → its token program (a mint's owner never changes)

    @property
    def addresses(self) -> tuple[Pubkey, ...]:
        return tuple(self._venues)

    def venue(self, address: Pubkey) -> Venue:
        return self._venues[address]

    def load(self, address: Pubkey) -> tuple[Any, Any]:
        """(decoded pool, quotable state) as of now. Raises DexError or KeyError if it cannot be."""
        venue = self._venues[address]
        account = self._read(address)
        if account is None:
            raise KeyError(f"pool {address} does not exist")
        pool = venue.decode_pool(address, bytes(account.data), account.owner)
        dependencies = {}
        for key in venue.dependencies(pool):
            dependency = self._read(key)
            dependencies[key] = bytes(dependency.data) if dependency is not None else b""
        return pool, venue.load(pool, dependencies)

    def token_programs(self, pool: Any) -> tuple[Pubkey, Pubkey]:
        """The programs that own the pool's (mint_a, mint_b), as its swaps must name them."""
        return self._program(pool.mint_a), self._program(pool.mint_b)

    def _program(self, mint: Pubkey) -> Pubkey:
        program = self._programs.get(mint)
        if program is None:
            program = self._programs[mint] = mint_token_program(self._read(mint))
        return program

    def load_route(
        self, hops: Sequence[Hop], cache: dict[Pubkey, tuple[Any, Any]] | None = None
    ) -> LoadedRoute | None:
        """The route's pools loaded once, to quote many sizes against; None if a pool cannot load.

        `cache` shares loaded pools between routes read at the same moment.
        """
        cache = {} if cache is None else cache
        legs = []
        try:
            for hop in hops:
                if hop.pool not in cache:
                    cache[hop.pool] = self.load(hop.pool)
                legs.append((self._venues[hop.pool], *cache[hop.pool], hop.mint_in))
        except (DexError, KeyError):
            return None
        return LoadedRoute(tuple(legs))


@dataclass(frozen=True, slots=True)
class LoadedRoute:
    """A route over pool states fixed at load time: (venue, pool, state, mint_in) per hop."""

    legs: tuple[tuple[Venue, Any, Any, Pubkey], ...]

    @property
    def pools(self) -> tuple[Any, ...]:
        return tuple(pool for _, pool, _, _ in self.legs)

    def quote(self, amount_in: int) -> list[Quote] | None:
        """Exact quotes hop by hop for `amount_in`, or None if any hop refuses it."""
        quotes = []
        amount = amount_in
        try:
            for venue, pool, state, mint_in in self.legs:
                quote = venue.quote_exact_in(state, amount, mint_in == pool.mint_a)
                quotes.append(quote)
                amount = quote.amount_out
        except (DexError, ValueError):
            return None
        return quotes

    def profit(self, amount_in: int) -> int | None:
        """Output minus input of the whole cycle, in the start token; None if refused."""
        quotes = self.quote(amount_in)
        return None if quotes is None else quotes[-1].amount_out - amount_in


def vault_addresses(venue_name: str, pool: Any) -> tuple[Pubkey, Pubkey]:
    """The pool's (token A, token B) vaults, whatever the venue calls them."""
    if venue_name == raydium_amm_v4.RaydiumAmmV4.name:
        return pool.coin_vault, pool.pc_vault
    if venue_name == raydium_cpmm.RaydiumCpmm.name:
        return pool.token_0_vault, pool.token_1_vault
    if venue_name == whirlpool.WhirlpoolVenue.name:
        return pool.vault_a, pool.vault_b
    raise ValueError(f"unknown venue {venue_name!r}")


def swap_instruction(
    venue_name: str,
    pool: Any,
    owner: Pubkey,
    token_accounts: Mapping[Pubkey, Pubkey],
    mint_in: Pubkey,
    amount_in: int,
    minimum_out: int,
    token_programs: tuple[Pubkey, Pubkey] = (TOKEN_PROGRAM_ID, TOKEN_PROGRAM_ID),
) -> Instruction:
    """The venue's exact-in swap of `amount_in` of `mint_in`, from and to `owner`'s token accounts;
    `token_programs` own the pool's (mint_a, mint_b) (`PoolBook.token_programs`)."""
    a_to_b = mint_in == pool.mint_a
    mint_out = pool.mint_b if a_to_b else pool.mint_a
    return venue_by_name(venue_name).swap_instruction(
        pool, owner=owner, source=token_accounts[mint_in], destination=token_accounts[mint_out],
        a_to_b=a_to_b, amount_in=amount_in, minimum_out=minimum_out, token_programs=token_programs,
    )  # fmt: skip
