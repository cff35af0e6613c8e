"""The one interface every venue implements, and the errors it raises.

A venue turns account bytes into a quotable state and quotes it exactly, as the on-chain program
would. Everything above `dex/` (market, search, sandbox, simulate) talks to venues only through
`Venue`, so a new venue is one new module and one line in `dex/registry.py`.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from solders.instruction import Instruction
from solders.pubkey import Pubkey

U64_MAX = (1 << 64) - 1
U128_MAX = (1 << 128) - 1


class DexError(Exception):
    """Base of every error raised by `dex/`."""


class DecodeError(DexError, ValueError):
    """Account bytes are not the account the caller asked for. Never returns garbage instead."""


class TruncatedAccount(DecodeError):
    """Fewer bytes than the layout needs."""


class OversizedAccount(DecodeError):
    """More bytes than the layout allows."""


class WrongOwner(DecodeError):
    """The account is owned by another program than the venue's."""


class WrongAccountType(DecodeError):
    """The discriminator (or another type tag) names another account type."""


class QuoteError(DexError, ArithmeticError):
    """The program would refuse this swap.

    `code` is the error name the transaction would report (for example ``InvalidInput``,
    ``ZeroTradingTokens`` or ``ProgramFailedToComplete`` for a panic), so an operator sees why a
    route cannot trade.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


class UnsupportedPool(QuoteError):
    """The pool uses a feature we do not model; refusing beats quoting it wrong."""

    def __init__(self, detail: str) -> None:
        super().__init__("UnsupportedPool", detail)


@dataclass(frozen=True, slots=True)
class Quote:
    """An exact swap result in raw base units.

    `amount_in` is what leaves the trader (fees included), `amount_out` what reaches the trader.
    `fee` is the trade fee in the input token; `protocol_fee` the part of it the protocol keeps.
    """

    amount_in: int
    amount_out: int
    fee: int
    protocol_fee: int = 0


@runtime_checkable
class Pool(Protocol):
    """What every decoded pool account exposes to the market."""

    address: Pubkey
    mint_a: Pubkey
    mint_b: Pubkey


def swap_mints(pool: Pool, a_to_b: bool) -> tuple[Pubkey, Pubkey]:
    """(mint in, mint out) of a swap on `pool` in this direction."""
    return (pool.mint_a, pool.mint_b) if a_to_b else (pool.mint_b, pool.mint_a)


@runtime_checkable
class Venue(Protocol):
    """One exchange program.

    The flow is ``decode_pool`` → ``dependencies`` → ``load`` → ``quote_*``: the pool account names
    the other accounts a quote reads (vaults, config, tick arrays); ``load`` combines their bytes
    into an immutable state; quotes are pure functions of that state. ``a_to_b`` swaps ``mint_a``
    for ``mint_b``. ``swap_instruction`` is the one exact-in swap every venue builds the same way,
    so packaging never needs to know which venue a hop runs on.
    """

    name: str
    program_id: Pubkey
    pool_size: int  # bytes of its pool account
    mint_offsets: tuple[int, int]  # where a pool account holds mint_a and mint_b (to find pools by mint)

    def decode_pool(self, address: Pubkey, data: bytes, owner: Pubkey | None = None) -> Any: ...

    def dependencies(self, pool: Any) -> tuple[Pubkey, ...]: ...

    def load(self, pool: Any, accounts: Mapping[Pubkey, bytes]) -> Any: ...

    def quote_exact_in(self, state: Any, amount_in: int, a_to_b: bool) -> Quote: ...

    def quote_exact_out(self, state: Any, amount_out: int, a_to_b: bool) -> Quote: ...

    def swap_instruction(
        self,
        pool: Any,
        *,
        owner: Pubkey,
        source: Pubkey,
        destination: Pubkey,
        a_to_b: bool,
        amount_in: int,
        minimum_out: int,
        token_programs: tuple[Pubkey, Pubkey] = ...,
    ) -> Instruction:
        """Spend exactly `amount_in` from `source` (owned by `owner`, who signs) into `destination`;
        the program fails the swap if less than `minimum_out` arrives. `token_programs` own the
        pool's (mint_a, mint_b) (default: SPL Token for both); a venue refuses programs its pool
        cannot use (`UnsupportedPool`)."""
        ...

    def swap_layout(self, pool: Any, a_to_b: bool) -> Hashable:
        """What, besides the pool, the direction and the user's accounts, decides the accounts
        `swap_instruction` names (a Whirlpool's tick arrays follow its current tick): two swaps with
        equal layouts differ only in their data, so a compiled message can be reused for both."""
        ...

    def swap_data(self, pool: Any, a_to_b: bool, amount_in: int, minimum_out: int) -> bytes:
        """The data of the instruction `swap_instruction` builds for these amounts."""
        ...


def check_account(
    data: bytes,
    *,
    kind: str,
    size: int | tuple[int, int],
    owner: Pubkey | None = None,
    expected_owner: Pubkey | None = None,
    discriminator: bytes | None = None,
) -> None:
    """Refuse bytes that cannot be a `kind` account: wrong owner, wrong length, wrong type tag.

    `size` is an exact length or an inclusive (min, max) range.
    """
    if owner is not None and expected_owner is not None and owner != expected_owner:
        raise WrongOwner(f"{kind}: owner {owner} is not {expected_owner}")
    low, high = (size, size) if isinstance(size, int) else size
    if len(data) < low:
        raise TruncatedAccount(f"{kind}: {len(data)} bytes, need {low}")
    if len(data) > high:
        raise OversizedAccount(f"{kind}: {len(data)} bytes, at most {high}")
    if discriminator is not None and data[: len(discriminator)] != discriminator:
        raise WrongAccountType(f"{kind}: discriminator {data[:len(discriminator)].hex()} is not {discriminator.hex()}")


def anchor_discriminator(namespace: str, name: str) -> bytes:
    """The first 8 bytes of sha256("namespace:name"): Anchor's account and instruction tags."""
    import hashlib

    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def read_pubkey(data: bytes, offset: int) -> Pubkey:
    return Pubkey.from_bytes(data[offset : offset + 32])


def read_u128(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 16], "little")


def read_i128(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 16], "little", signed=True)


def unpack_fields(
    layout: struct.Struct, names: Sequence[str], pubkeys: Collection[str], data: bytes, *, skip: int = 0
) -> dict[str, Any]:
    """`data` unpacked by `layout` as {name: value}: the first `skip` values (a tag) dropped, the
    `pubkeys` fields as Pubkeys.

    The packed venue layouts name their fields in struct order once; this and `pack_fields` read
    that one table, so decoding and encoding cannot drift apart.
    """
    values = dict(zip(names, layout.unpack(data)[skip:], strict=True))
    for name in pubkeys:
        if name in values:
            values[name] = Pubkey.from_bytes(values[name])
    return values


def pack_fields(
    layout: struct.Struct, names: Sequence[str], pubkeys: Collection[str], source: object, *,
    prefix: Sequence[object] = (),
) -> bytes:  # fmt: skip
    """The inverse of `unpack_fields`: the `prefix` values (a tag), then `source`'s attributes `names`
    packed by `layout`."""
    values = [
        bytes(getattr(source, name)) if name in pubkeys else int(getattr(source, name)) for name in names
    ]
    return layout.pack(*prefix, *values)


_Record = TypeVar("_Record")


def positional_constructor(cls: type[_Record]) -> Callable[..., _Record]:
    """A constructor for the frozen, slotted dataclass `cls` that takes its `__init__` fields
    positionally, in declaration order (an `init=False` field gets its default, or its default
    factory's value, as `__init__` would give it).

    A frozen dataclass's own `__init__` sets each field through `object.__setattr__`; the hot path
    builds a few such records per account update, where that was a fifth of the time. Here the
    record is made as an instance of a mutable twin with the same slots, whose fields take plain
    attribute stores, and then becomes a `cls` by a `__class__` assignment (which Python allows
    between classes of one layout): a fifth of the cost for a 20-field record. A class whose
    `__init__` does more (a `__post_init__`), or that inherits fields, is refused.
    """
    fields = dataclasses.fields(cls)
    fixed = [f for f in fields if not f.init]
    if (
        "__slots__" not in cls.__dict__
        or cls.__bases__ != (object,)
        or hasattr(cls, "__post_init__")
        or any(f.default is f.default_factory is dataclasses.MISSING for f in fixed)
    ):
        raise TypeError(f"{cls.__name__} is not a frozen, slotted dataclass with a plain __init__")
    twin = type(f"_Mutable{cls.__name__}", (), {"__slots__": cls.__slots__})  # type: ignore[attr-defined]
    namespace: dict[str, Any] = {"_new": object.__new__, "_twin": twin, "_cls": cls}
    lines = []
    for f in fields:
        if f.init:
            value = f.name
        elif f.default is dataclasses.MISSING:
            namespace[f"_make_{f.name}"] = f.default_factory
            value = f"_make_{f.name}()"
        else:
            namespace[f"_default_{f.name}"] = f.default
            value = f"_default_{f.name}"
        lines.append(f"    _record_.{f.name} = {value}\n")
    arguments = ", ".join(f.name for f in fields if f.init)
    body = "".join(lines)
    exec(
        f"def build({arguments}):\n    _record_ = _new(_twin)\n{body}    _record_.__class__ = _cls\n    return _record_\n",
        namespace,
    )
    return namespace["build"]


# `Quote(amount_in, amount_out, fee, protocol_fee)` for the venues' quotes: one per hop of every
# input a sizing tries.
make_quote = positional_constructor(Quote)

U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
I32 = struct.Struct("<i")
U64 = struct.Struct("<Q")
I64 = struct.Struct("<q")
