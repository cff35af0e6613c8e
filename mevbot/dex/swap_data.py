"""Swap instruction data shared by the constant-product venues: a tag, then two little-endian u64.

Raydium AMM v4 (one-byte tag) and CPMM (8-byte Anchor discriminator) lay out their swap arguments
the same way: exact-in is ``amount_in, minimum_amount_out``, exact-out is ``max_amount_in,
amount_out`` (the limit first). One packer and one parser serve both, so the builder and the
sandbox bank can never disagree about which u64 is which.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mevbot.dex.base import U64_MAX, DexError


class SwapKind(StrEnum):
    EXACT_IN = "exact_in"
    EXACT_OUT = "exact_out"


class InstructionDataError(DexError, ValueError):
    """Instruction data that is not a swap this venue knows (unknown tag, too short)."""


@dataclass(frozen=True, slots=True)
class SwapArgs:
    """What a swap instruction asks for.

    `amount` is the input for exact-in and the wanted output for exact-out;
    `other_amount_threshold` is the minimum output (exact-in) or the maximum input (exact-out).
    """

    kind: SwapKind
    amount: int
    other_amount_threshold: int


_TWO_U64 = struct.Struct("<QQ")


def pack_swap_data(tag: bytes, args: SwapArgs) -> bytes:
    """`tag` followed by the two u64 in the programs' order (exact-out puts the input limit first)."""
    for name, value in (("amount", args.amount), ("other_amount_threshold", args.other_amount_threshold)):
        if not 0 <= value <= U64_MAX:
            raise ValueError(f"{name} {value} is not a u64")
    if args.kind is SwapKind.EXACT_IN:
        return tag + _TWO_U64.pack(args.amount, args.other_amount_threshold)
    return tag + _TWO_U64.pack(args.other_amount_threshold, args.amount)


def unpack_swap_data(data: bytes, tags: Mapping[bytes, SwapKind]) -> SwapArgs:
    """Parse data that `pack_swap_data` wrote with one of `tags` (all the same length).

    Trailing bytes are ignored, as both programs' deserializers ignore them.
    """
    tag_len = len(next(iter(tags)))
    kind = tags.get(bytes(data[:tag_len]))
    if kind is None:
        raise InstructionDataError(f"unknown swap tag {bytes(data[:tag_len]).hex()}")
    if len(data) < tag_len + _TWO_U64.size:
        raise InstructionDataError(f"swap data is {len(data)} bytes, need {tag_len + _TWO_U64.size}")
    first, second = _TWO_U64.unpack_from(data, tag_len)
    if kind is SwapKind.EXACT_IN:
        return SwapArgs(kind, amount=first, other_amount_threshold=second)
    return SwapArgs(kind, amount=second, other_amount_threshold=first)


class SwapTags:
    """A venue's two swap tags, exact-in and exact-out, read by both its builder and its parser.

    One table per venue means a kind can never be packed under one tag and parsed under another.
    """

    __slots__ = ("_kinds", "exact_in", "exact_out")

    def __init__(self, exact_in: bytes, exact_out: bytes) -> None:
        self.exact_in = exact_in
        self.exact_out = exact_out
        self._kinds = {exact_in: SwapKind.EXACT_IN, exact_out: SwapKind.EXACT_OUT}

    def pack(self, args: SwapArgs) -> bytes:
        """`args` behind the tag of its kind (see `pack_swap_data`)."""
        return pack_swap_data(self.exact_in if args.kind is SwapKind.EXACT_IN else self.exact_out, args)

    def unpack(self, data: bytes) -> SwapArgs:
        """The arguments of data `pack` wrote (see `unpack_swap_data`)."""
        return unpack_swap_data(data, self._kinds)
