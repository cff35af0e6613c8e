"""Funded wallets in the sandbox: seeded keypairs, their SOL and their associated token accounts.

The test payer, the simulated users and the competing searchers all hold SOL and one associated
token account per mint, at the address the Associated Token program would derive, so a client that
looks its accounts up the usual way finds them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from mevbot.dex.spl_token import (
    ACCOUNT_LEN,
    NATIVE_MINT,
    TOKEN_PROGRAM_ID,
    encode_token_account,
    mint_token_program,
)
from mevbot.sandbox.bank import Bank

ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")


def seeded_keypair(seed: int, role: str) -> Keypair:
    """The same keypair for the same seed and role on every run."""
    return Keypair.from_seed(hashlib.sha256(f"sandbox-keypair:{seed}:{role}".encode()).digest())


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
    seeds = [bytes(owner), bytes(token_program), bytes(mint)]
    return Pubkey.find_program_address(seeds, ASSOCIATED_TOKEN_PROGRAM_ID)[0]


def fund_wallet(
    bank: Bank, owner: Pubkey, lamports: int, balances: Iterable[tuple[Pubkey, int]]
) -> dict[Pubkey, Pubkey]:
    """Give `owner` SOL and an associated token account holding `amount` of each mint; mint → account.
    Each account belongs to its mint's program (Token-2022 for its mints), at the address derived with it."""
    bank.airdrop(owner, lamports)
    rent = bank.minimum_balance(ACCOUNT_LEN)
    accounts = {}
    for mint, amount in balances:
        program = mint_token_program(bank.get_account(mint))
        address = associated_token_address(owner, mint, program)
        if mint == NATIVE_MINT:  # wrapped SOL: the balance also sits in lamports above the rent reserve
            account = Account(
                rent + amount, encode_token_account(mint, owner, amount, is_native=rent), TOKEN_PROGRAM_ID
            )
        else:
            account = Account(rent, encode_token_account(mint, owner, amount), program)
        bank.set_account(address, account)
        accounts[mint] = address
    return accounts


def write_keypair_file(keypair: Keypair, path: Path) -> Path:
    """A Solana CLI keypair file (a JSON array of the 64 secret bytes), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(list(bytes(keypair)), handle)
    os.chmod(path, 0o600)  # also when the file existed with looser bits
    return path
