"""The cluster's first state: the universe's accounts in the bank, and funded wallets.

Wallet balances scale with the pools: each holder gets a multiple of the deepest vault of every
mint, so the test payer can trade any pool at full size and the users never run dry.
"""

from __future__ import annotations

from collections.abc import Iterable

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from mevbot.dex import spl_token
from mevbot.dex.base import U64_MAX, DecodeError
from mevbot.sandbox.bank import Bank
from mevbot.sandbox.universe import Universe
from mevbot.sandbox.user_flow import Trader
from mevbot.sandbox.wallets import fund_wallet


def load_universe(bank: Bank, universe: Universe) -> None:
    for entry in universe.accounts:
        bank.set_account(entry.pubkey, Account(entry.lamports, entry.data, entry.owner))


def deepest_vaults(universe: Universe) -> dict[Pubkey, int]:
    """Mint → the largest balance any token account of the universe holds in it."""
    deepest: dict[Pubkey, int] = {token.mint: 1 for token in universe.tokens}
    for entry in universe.accounts:
        if entry.owner not in spl_token.TOKEN_PROGRAMS or len(entry.data) != spl_token.ACCOUNT_LEN:
            continue
        try:
            token = spl_token.decode_token_account(entry.data, entry.owner)
        except DecodeError:
            continue
        deepest[token.mint] = max(deepest.get(token.mint, 1), token.amount)
    return deepest


def fund_trader(
    bank: Bank, keypair: Keypair, lamports: int, depths: dict[Pubkey, int], multiple: int
) -> Trader:
    """A wallet with `lamports` and `multiple` times each mint's deepest vault (capped well inside u64)."""
    balances = [(mint, min(depth * multiple, U64_MAX // 16)) for mint, depth in depths.items()]
    accounts = fund_wallet(bank, keypair.pubkey(), lamports, balances)
    return Trader(keypair, accounts)


def fund_traders(bank: Bank, keypairs: Iterable[Keypair], lamports: int, depths: dict[Pubkey, int],
                 multiple: int) -> list[Trader]:  # fmt: skip
    return [fund_trader(bank, keypair, lamports, depths, multiple) for keypair in keypairs]
