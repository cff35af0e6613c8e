"""SPL Token and Token-2022 accounts and mints: the vault balances every venue prices from.

Only the base layout is read; Token-2022 extensions are listed by type (`extension_types`), and a
mint whose extensions would change what a swap moves, or what it must name, is refused for trading
(`untradable_mint`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Protocol

from solders.pubkey import Pubkey

from mevbot.dex.base import U64, DecodeError, TruncatedAccount, WrongAccountType, WrongOwner, read_pubkey

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)  # what may own a mint or a token account

ACCOUNT_LEN = 165
MINT_LEN = 82
# Token-2022 pads a mint to the account length, then writes an account-type byte: 1 mint, 2 account.
_TYPE_OFFSET = ACCOUNT_LEN
_TYPE_MINT = 1
_TYPE_ACCOUNT = 2
_STATE_UNINITIALIZED = 0
_TLV_HEADER = struct.Struct("<HH")  # extension type, value length

# Token-2022 mint extension types (`ExtensionType`), by name for messages.
_MINT_EXTENSIONS = {
    1: "TransferFeeConfig", 3: "MintCloseAuthority", 4: "ConfidentialTransferMint", 6: "DefaultAccountState",
    9: "NonTransferable", 10: "InterestBearingConfig", 12: "PermanentDelegate", 14: "TransferHook",
    16: "ConfidentialTransferFeeConfig", 18: "MetadataPointer", 19: "TokenMetadata", 20: "GroupPointer",
    21: "TokenGroup", 22: "GroupMemberPointer", 23: "TokenGroupMember", 24: "ConfidentialMintBurn",
    25: "ScaledUiAmount", 26: "Pausable",
}  # fmt: skip
# Those that leave a plain transfer exact and need no extra account: what they change is shown to
# wallets, or concerns other instructions than a transfer. Any other (a transfer fee, a transfer
# hook, non-transferable, a default frozen state, a permanent delegate, pausable, confidential
# transfer fees or mint/burn, or a type added later) makes the mint untradable.
_HARMLESS_MINT_EXTENSIONS = frozenset({3, 4, 10, 18, 19, 20, 21, 22, 23, 25})


@dataclass(frozen=True, slots=True)
class TokenAccount:
    mint: Pubkey
    owner: Pubkey
    amount: int
    is_native: int | None  # rent-exempt reserve in lamports for wrapped SOL, else None
    state: int


@dataclass(frozen=True, slots=True)
class Mint:
    supply: int
    decimals: int


class _Owned(Protocol):
    @property
    def owner(self) -> Pubkey: ...


def mint_token_program(mint_account: _Owned | None) -> Pubkey:
    """The program a mint's token accounts belong to: the token program that owns the mint account,
    SPL Token when the account is not held (or not a token program's)."""
    if mint_account is not None and mint_account.owner in TOKEN_PROGRAMS:
        return mint_account.owner
    return TOKEN_PROGRAM_ID


def _check_token_owner(owner: Pubkey | None, kind: str) -> None:
    if owner is not None and owner not in TOKEN_PROGRAMS:
        raise WrongOwner(f"{kind}: owner {owner} is not a token program")


def decode_token_account(data: bytes, owner: Pubkey | None = None) -> TokenAccount:
    _check_token_owner(owner, "token account")
    if len(data) < ACCOUNT_LEN:
        raise TruncatedAccount(f"token account: {len(data)} bytes, need {ACCOUNT_LEN}")
    if len(data) > ACCOUNT_LEN and data[_TYPE_OFFSET] != _TYPE_ACCOUNT:
        raise WrongAccountType(f"token account: Token-2022 type byte {data[_TYPE_OFFSET]} is not an account")
    state = data[108]
    if state == _STATE_UNINITIALIZED:
        raise DecodeError("token account: not initialized")
    is_native_tag = int.from_bytes(data[109:113], "little")
    is_native = U64.unpack_from(data, 113)[0] if is_native_tag else None
    return TokenAccount(
        mint=read_pubkey(data, 0),
        owner=read_pubkey(data, 32),
        amount=U64.unpack_from(data, 64)[0],
        is_native=is_native,
        state=state,
    )


def token_amount(data: bytes) -> int:
    """The balance of a token account: the one field a vault contributes to a quote."""
    if len(data) < ACCOUNT_LEN:
        raise TruncatedAccount(f"token account: {len(data)} bytes, need {ACCOUNT_LEN}")
    return U64.unpack_from(data, 64)[0]


def decode_mint(data: bytes, owner: Pubkey | None = None) -> Mint:
    _check_token_owner(owner, "mint")
    if len(data) < MINT_LEN:
        raise TruncatedAccount(f"mint: {len(data)} bytes, need {MINT_LEN}")
    if len(data) > MINT_LEN:
        if len(data) <= _TYPE_OFFSET:
            raise DecodeError(f"mint: {len(data)} bytes is neither a mint nor a Token-2022 mint")
        if data[_TYPE_OFFSET] != _TYPE_MINT:
            raise WrongAccountType(f"mint: Token-2022 type byte {data[_TYPE_OFFSET]} is not a mint")
    if not data[45]:
        raise DecodeError("mint: not initialized")
    return Mint(supply=U64.unpack_from(data, 36)[0], decimals=data[44])


def extension_types(data: bytes) -> tuple[int, ...]:
    """The Token-2022 extension types of a mint or token account, in order (none for a base-size
    account). The entries follow the account-type byte; a zero type ends them (padding)."""
    kinds = []
    offset = _TYPE_OFFSET + 1
    while offset + _TLV_HEADER.size <= len(data):
        kind, length = _TLV_HEADER.unpack_from(data, offset)
        if kind == 0:
            break
        kinds.append(kind)
        offset += _TLV_HEADER.size + length
    return tuple(kinds)


def untradable_mint(data: bytes, owner: Pubkey) -> str | None:
    """Why swaps through this mint cannot be quoted and sent exactly, or None if they can. Raises
    DecodeError if the bytes are not a mint of a token program."""
    decode_mint(data, owner)
    for kind in extension_types(data):
        if kind not in _HARMLESS_MINT_EXTENSIONS:
            name = _MINT_EXTENSIONS.get(kind, "not known to mevbot")
            return f"Token-2022 mint extension {kind} ({name}) changes or guards transfers"
    return None


def encode_token_account(mint: Pubkey, owner: Pubkey, amount: int, *, is_native: int | None = None) -> bytes:
    """A plain SPL Token account's bytes (for the sandbox and synthetic universes)."""
    out = bytearray(ACCOUNT_LEN)
    out[0:32] = bytes(mint)
    out[32:64] = bytes(owner)
    U64.pack_into(out, 64, amount)
    out[108] = 1  # initialized
    if is_native is not None:
        out[109] = 1
        U64.pack_into(out, 113, is_native)
    return bytes(out)


def encode_mint(
    supply: int, decimals: int, mint_authority: Pubkey | None = None, extensions: tuple[tuple[int, bytes], ...] = ()
) -> bytes:
    """A mint's bytes; with `extensions` ((type, value) each), a Token-2022 mint carrying them."""
    out = bytearray(MINT_LEN)
    if mint_authority is not None:
        out[0] = 1
        out[4:36] = bytes(mint_authority)
    U64.pack_into(out, 36, supply)
    out[44] = decimals
    out[45] = 1  # initialized
    if extensions:
        out += bytes(_TYPE_OFFSET - MINT_LEN) + bytes([_TYPE_MINT])
        for kind, value in extensions:
            out += _TLV_HEADER.pack(kind, len(value)) + value
    return bytes(out)
