"""An `Opportunity` → the swap instructions of its hops → one signed bundle.

Every hop spends exactly the amount its quote took and demands at least the amount its quote gave
(minimum out = that hop's exact quoted output), so a bundle split up or run on moved pools fails
instead of trading at a worse price than the one decided on. The user's token accounts are the
owner's associated token accounts, each derived with its mint's token program (Token or Token-2022;
a mint whose program the market does not know is refused: the accounts would be wrong). Pure: the
caller brings the blockhash, the tip, the preflight's compute units and any lookup table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from spl.token.instructions import get_associated_token_address

from mevbot.dex.base import DexError, swap_mints
from mevbot.dex.spl_token import TOKEN_PROGRAM_ID
from mevbot.events import Opportunity
from mevbot.market.graph import edge_a_to_b, edge_pool
from mevbot.market.registry import PoolInfo
from mevbot.package.bundle import Bundle
from mevbot.package.keys import TradingKey
from mevbot.package.transaction import (
    MAX_COMPUTE_UNITS,
    MessageTemplate,
    PackageError,
    RoutePlan,
    Tip,
    build_transaction,
    compile_message,
    route_data,
    route_instructions,
)

DEFAULT_CU_MARGIN = 1.2
DEFAULT_CU_FLOOR = 20_000
"""Below this a limit saves nothing worth the risk: a program's cost varies a little between the
preflight's state and the leader's (a tick crossed, a branch taken)."""


class PoolLookup(Protocol):
    """Where the decoded pools come from: a `PoolRegistry` (e.g. `MarketModel.registry`)."""

    def pool(self, pool_id: int) -> PoolInfo: ...

    def pool_id(self, address: Pubkey) -> int | None: ...

    def token_program(self, mint: Pubkey) -> Pubkey | None: ...


@lru_cache(maxsize=65_536)
def associated_token_account(owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
    """The owner's ATA for `mint`, whose program is `token_program` (a seed of the address), cached:
    a PDA search costs ~10 µs and the hot path asks for the same few accounts every time."""
    return get_associated_token_address(owner, mint, token_program)


def token_program(pools: PoolLookup, mint: Pubkey) -> Pubkey:
    """The program that owns `mint`; PackageError if the market does not know it."""
    program = pools.token_program(mint)
    if program is None:
        raise PackageError("unknown_token_program", f"the token program of mint {mint} is not known")
    return program


def hop_pools(opportunity: Opportunity, pools: PoolLookup) -> list[PoolInfo]:
    """Each hop's pool, checked to be on the venue the hop was quoted on."""
    out = []
    for index, hop in enumerate(opportunity.hops):
        info = _pool_info(pools, hop.pool_id, hop.pool)
        if info.venue.name != hop.venue:
            raise PackageError(
                "route_mismatch", f"hop {index}: {hop.pool} is {info.venue.name}, not {hop.venue}"
            )
        out.append(info)
    return out


def owner_swap(
    pools: PoolLookup, info: PoolInfo, owner: Pubkey, a_to_b: bool, amount_in: int, minimum_out: int
) -> Instruction:
    """An exact-in swap on `info`'s pool from and to `owner`'s ATAs, guarded by `minimum_out`."""
    pool = info.pool
    programs = token_program(pools, pool.mint_a), token_program(pools, pool.mint_b)
    account_a = associated_token_account(owner, pool.mint_a, programs[0])
    account_b = associated_token_account(owner, pool.mint_b, programs[1])
    source, destination = (account_a, account_b) if a_to_b else (account_b, account_a)
    return info.venue.swap_instruction(
        pool, owner=owner, source=source, destination=destination, a_to_b=a_to_b, amount_in=amount_in,
        minimum_out=minimum_out, token_programs=programs,
    )  # fmt: skip


def hop_instructions(opportunity: Opportunity, pools: PoolLookup, owner: Pubkey) -> tuple[Instruction, ...]:
    """One exact-in swap per hop, from and to `owner`'s ATAs, each guarded by its quoted output."""
    return tuple(
        owner_swap(pools, info, owner, hop.a_to_b, hop.amount_in, hop.amount_out)
        for hop, info in zip(opportunity.hops, hop_pools(opportunity, pools), strict=True)
    )


def created_mints(token_path: Sequence[Pubkey], create_token_accounts: bool) -> tuple[Pubkey, ...]:
    """The mints whose ATAs a route along `token_path` creates idempotently first: every token it
    writes, if asked."""
    return tuple(dict.fromkeys(token_path)) if create_token_accounts else ()


def created_accounts(
    pools: PoolLookup, token_path: Sequence[Pubkey], create_token_accounts: bool
) -> tuple[tuple[Pubkey, Pubkey], ...]:
    """(mint, token program) of each ATA a route along `token_path` creates (`created_mints`)."""
    return tuple((mint, token_program(pools, mint)) for mint in created_mints(token_path, create_token_accounts))


def route_plan(
    opportunity: Opportunity, pools: PoolLookup, owner: Pubkey, *, create_token_accounts: bool = False
) -> RoutePlan:
    """The hops as a `RoutePlan`. With `create_token_accounts` every ATA the route writes is created
    idempotently first (costs an instruction, the ATA program and a mint key per token: leave it off
    for a wallet set up in advance)."""
    hops = hop_instructions(opportunity, pools, owner)
    return RoutePlan(hops=hops, token_accounts=created_accounts(pools, opportunity.token_path, create_token_accounts))


def compute_unit_limit(
    units_consumed: int | None, *, margin: float = DEFAULT_CU_MARGIN, floor: int = DEFAULT_CU_FLOOR
) -> int:
    """The limit to request: the preflight's units times `margin`, at least `floor`, at most the
    runtime's 1.4M. None (no preflight yet) asks for the maximum, as a preflight run itself must.

    Auctions rank tip per *requested* unit, so asking for more than needed lowers every bid.
    """
    if units_consumed is None:
        return MAX_COMPUTE_UNITS
    if units_consumed < 0:
        raise PackageError("bad_compute_limit", f"units consumed {units_consumed} < 0")
    return min(MAX_COMPUTE_UNITS, max(floor, math.ceil(units_consumed * margin)))


def route_bundle(
    key: TradingKey,
    plan: RoutePlan,
    blockhash: Hash,
    *,
    tip: Tip,
    units_consumed: int | None = None,
    margin: float = DEFAULT_CU_MARGIN,
    floor: int = DEFAULT_CU_FLOOR,
    compute_unit_price: int = 0,
    lookup_tables: Sequence[AddressLookupTableAccount] = (),
) -> Bundle:
    """A one-transaction bundle: budget, the route, the tip last, signed by `key` (payer and owner).

    Raises `PackageError` (too_large, too_many_accounts, tip_in_lookup_table, compile_failed…)
    before anything could be sent.
    """
    limit = compute_unit_limit(units_consumed, margin=margin, floor=floor)
    instructions = route_instructions(
        key.pubkey, plan, compute_unit_limit=limit, compute_unit_price=compute_unit_price, tip=tip
    )
    return Bundle((build_transaction(key, instructions, blockhash, lookup_tables=lookup_tables, tip=tip),))


def route_accounts(plan: RoutePlan) -> tuple[Pubkey, ...]:
    """Every non-signer account the hops name, in first-seen order: what a lookup table for the
    route holds. Signers must stay static keys, and tip accounts are not in the hops."""
    return tuple(dict.fromkeys(meta.pubkey for ix in plan.hops for meta in ix.accounts if not meta.is_signer))


def market_accounts(pools: PoolLookup, pool_ids: range, owner: Pubkey) -> tuple[Pubkey, ...]:
    """Every non-signer account (programs included) a swap on any of these pools names, both ways:
    what lookup tables must hold so that any route through them compiles to a small transaction.
    A pool whose swaps cannot be built (a mint's token program unknown) names none."""
    seen: dict[Pubkey, None] = {}
    for pool_id in pool_ids:
        info = pools.pool(pool_id)
        for a_to_b in (True, False):
            try:
                ix = owner_swap(pools, info, owner, a_to_b, amount_in=1, minimum_out=0)
            except (PackageError, DexError):
                continue
            seen.setdefault(ix.program_id)
            for meta in ix.accounts:
                if not meta.is_signer:
                    seen.setdefault(meta.pubkey)
    return tuple(seen)


HOP_UNIT_ESTIMATES = {"raydium_amm_v4": 50_000, "raydium_cpmm": 70_000, "whirlpool": 150_000}
"""Upper bounds per swap (mainnet programs typically use 25–45k, 40–55k and 60–130k), used only
until a preflight has measured a route of that shape: too high costs auction rank, too low fails."""
OVERHEAD_UNITS = 1_000  # compute budget and the tip transfer (150 each in the runtime), rounded up
ATA_CREATE_UNITS = 25_000
TEMPLATES_KEPT = 8_192  # compiled messages kept for reuse, oldest dropped first (~1.5 KB each)
HOPS_KEPT = 16_384  # swap instructions kept for compiling new routes through known pools


class Market(Protocol):
    """What the builder reads the decoded pools from: a `MarketModel`."""

    @property
    def registry(self) -> PoolLookup: ...


class RouteBuilder:
    """The hot path's packager for one market model and one owner: opportunity → signed bundle.

    The compute-unit limit is the preflight's units times the margin when the caller has them,
    else what the preflights of routes through the same venues measured (`learn_units`), else the
    per-venue upper bounds. Lookup tables are used only when the route does not fit without them.
    A route packaged before (the same pools, directions, tokens, venue layouts and tip account:
    the same instructions but for their data) reuses that compiled message as a `MessageTemplate`:
    only the amounts, the limit, the tip and the blockhash change.
    """

    def __init__(
        self,
        model: Market,
        owner: Pubkey,
        *,
        lookup_tables: Sequence[AddressLookupTableAccount] = (),
        create_token_accounts: bool = False,
        margin: float = DEFAULT_CU_MARGIN,
        floor: int = DEFAULT_CU_FLOOR,
    ) -> None:
        self._model = model
        self.owner = owner
        self._templates: dict[tuple[object, ...], MessageTemplate] = {}
        # (payer, pool, direction, layout) → a swap instruction of that shape, and the
        # lookup tables that hold its accounts
        self._hops: dict[tuple[object, ...], tuple[Instruction, frozenset[int]]] = {}
        self.lookup_tables = lookup_tables
        self.create_token_accounts = create_token_accounts
        self.margin, self.floor = margin, floor
        self._measured: dict[tuple[str, ...], int] = {}
        self._needs_tables: set[tuple[str, ...]] = set()  # route shapes that did not fit without

    @property
    def lookup_tables(self) -> list[AddressLookupTableAccount]:
        return self._lookup_tables

    @lookup_tables.setter
    def lookup_tables(self, tables: Sequence[AddressLookupTableAccount]) -> None:
        self._lookup_tables = list(tables)
        self._table_of: dict[Pubkey, int] = {}  # account → the first table holding it
        for index, table in enumerate(self._lookup_tables):
            for address in table.addresses:
                self._table_of.setdefault(address, index)
        self._templates.clear()  # compiled against the old tables
        self._hops.clear()

    def learn_units(self, opportunity: Opportunity, units_consumed: int) -> None:
        """Remember a preflight's units for routes through the same venues (the most seen wins)."""
        shape = _shape(opportunity)
        self._measured[shape] = max(units_consumed, self._measured.get(shape, 0))

    def estimate_units(self, opportunity: Opportunity) -> int:
        """Upper-bound units for a route no preflight has measured: the per-venue bounds."""
        setup = ATA_CREATE_UNITS * len(created_mints(opportunity.token_path, self.create_token_accounts))
        return (
            OVERHEAD_UNITS
            + setup
            + sum(HOP_UNIT_ESTIMATES.get(venue, 200_000) for venue in _shape(opportunity))
        )

    def bundle(
        self,
        opportunity: Opportunity,
        *,
        payer: TradingKey,
        blockhash: Hash,
        tip_account: Pubkey,
        tip_lamports: int,
        compute_unit_price: int = 0,
        units_consumed: int | None = None,
    ) -> Bundle:
        """Raises PackageError (too_large even with the tables, too_many_accounts…) before sending.

        A route packaged before (same payer, tip account, pools, directions, tokens and venue
        layouts, so the same instructions but for their data) costs no instruction building and no
        compile: only the data of each instruction is made, and spliced into its message.
        """
        infos = hop_pools(opportunity, self._model.registry)
        hops = opportunity.hops
        route = self._route_key(payer.pubkey, tip_account, compute_unit_price, infos, [hop.a_to_b for hop in hops])
        limit = self._limit(opportunity, units_consumed)
        template = self._templates.get(route)
        if template is None:
            template = self._template(payer.pubkey, infos, [hop.a_to_b for hop in hops], blockhash,
                                      Tip(tip_account, tip_lamports), limit, compute_unit_price)  # fmt: skip
            _keep(self._templates, route, template, TEMPLATES_KEPT)
        data = route_data(
            [info.venue.swap_data(info.pool, hop.a_to_b, hop.amount_in, hop.amount_out)
             for hop, info in zip(hops, infos, strict=True)],
            token_accounts=len(created_mints(opportunity.token_path, self.create_token_accounts)), compute_unit_limit=limit, compute_unit_price=compute_unit_price,
            tip_lamports=tip_lamports,
        )  # fmt: skip
        return Bundle.from_wire((template.signed(payer, data, blockhash),))

    def precompile(
        self, edges: Sequence[int], *, payer: Pubkey, blockhash: Hash, tip_account: Pubkey, compute_unit_price: int = 0
    ) -> bool:
        """Compile the message of the route along `edges` (market-graph edges) ahead of its first
        bundle, which then only splices in its data and signs (`bundle`). False if it has one.
        Raises what compiling raises (`PackageError`, a venue's `DexError`)."""
        registry = self._model.registry
        infos = [registry.pool(edge_pool(edge)) for edge in edges]
        directions = [edge_a_to_b(edge) for edge in edges]
        route = self._route_key(payer, tip_account, compute_unit_price, infos, directions)
        if route in self._templates:
            return False
        template = self._template(payer, infos, directions, blockhash, Tip(tip_account, 0), MAX_COMPUTE_UNITS,
                                  compute_unit_price)  # fmt: skip
        _keep(self._templates, route, template, TEMPLATES_KEPT)
        return True

    def _route_key(
        self, payer: Pubkey, tip_account: Pubkey, compute_unit_price: int, infos: list[PoolInfo], directions: list[bool]
    ) -> tuple[Any, ...]:  # fmt: skip
        """What makes two routes' messages the same but for their data (and blockhash): the payer,
        the tip account, the flags, and each hop's pool (by id: the builder has one registry, and
        a pool's mints never change), direction and venue layout."""
        key: list[Any] = [payer, tip_account, compute_unit_price > 0, self.create_token_accounts]
        for info, a_to_b in zip(infos, directions, strict=True):
            key += (info.id, a_to_b, info.venue.swap_layout(info.pool, a_to_b))
        return tuple(key)

    def _template(
        self, payer: Pubkey, infos: list[PoolInfo], directions: list[bool], blockhash: Hash, tip: Tip, limit: int,
        compute_unit_price: int,
    ) -> MessageTemplate:  # fmt: skip
        """Compile a route seen for the first time. Its hops' instructions are the ones `prepare` or
        earlier routes through the same pools built, where there are any (only their shapes matter:
        the data is spliced in afterwards), and so are the tables that hold their accounts."""
        hops, tables, mints = [], set(), []
        for info, a_to_b in zip(infos, directions, strict=True):
            mints.append(swap_mints(info.pool, a_to_b))
            instruction, held = self._hop(_hop_key(payer, info, a_to_b), info)
            hops.append(instruction)
            tables |= held
        token_path = (mints[0][0], *(mint_out for _, mint_out in mints))  # each hop's mint in, then the last's out
        created = created_accounts(self._model.registry, token_path, self.create_token_accounts)
        plan = RoutePlan(hops=tuple(hops), token_accounts=created)
        instructions = route_instructions(
            payer, plan, compute_unit_limit=limit, compute_unit_price=compute_unit_price, tip=tip
        )
        route_tables = [self.lookup_tables[index] for index in sorted(tables)]
        shape = tuple(info.venue.name for info in infos)
        return MessageTemplate(self._compile(payer, instructions, blockhash, tip, shape, route_tables))

    def _limit(self, opportunity: Opportunity, units_consumed: int | None) -> int:
        """The preflight's units times the margin, else what routes of this shape measured, else
        the per-venue bounds (no margin on top: they are bounds already)."""
        units, margin = units_consumed, self.margin
        if units is None:
            units = self._measured.get(_shape(opportunity))
        if units is None:
            units, margin = self.estimate_units(opportunity), 1.0
        return compute_unit_limit(units, margin=margin, floor=self.floor)

    def prepare(self, pool_ids: Iterable[int]) -> int:
        """Build the swap instructions of these pools, both ways, ahead of the first routes through
        them (~20 µs each, a route's first bundle would otherwise pay for every hop). Returns how
        many; a pool whose instruction cannot be built is left to fail when a route uses it."""
        registry = self._model.registry
        built = 0
        for pool_id in list(pool_ids)[: HOPS_KEPT // 2]:
            info = registry.pool(pool_id)
            for a_to_b in (True, False):
                try:
                    self._hop(_hop_key(self.owner, info, a_to_b), info)
                except (DexError, ValueError):  # a PackageError is a ValueError
                    continue
                built += 1
        return built

    def _hop(self, key: tuple[Any, ...], info: PoolInfo) -> tuple[Instruction, frozenset[int]]:
        """A swap instruction of the shape `key` names — (payer, pool, direction, layout) — and the
        lookup tables that hold its accounts; one built before when there is one. Its amounts are
        0: a template's data is spliced in per bundle."""
        known = self._hops.get(key)
        if known is None:
            payer, _, a_to_b, _ = key
            instruction = owner_swap(self._model.registry, info, payer, a_to_b, 0, 0)
            held = frozenset(
                self._table_of[meta.pubkey]
                for meta in instruction.accounts
                if not meta.is_signer and meta.pubkey in self._table_of
            )
            known = _keep(self._hops, key, (instruction, held), HOPS_KEPT)
        return known

    def _compile(
        self, payer: Pubkey, instructions: list[Instruction], blockhash: Hash, tip: Tip, shape: tuple[str, ...],
        tables: list[AddressLookupTableAccount],
    ) -> MessageV0:  # fmt: skip
        """Without lookup tables if the route fits (unless routes of its shape did not), else with
        `tables`, the ones that hold its accounts (compiling against all of them costs ~10× more at
        a few thousand pools, for the same message)."""
        attempts = [tables] if shape in self._needs_tables else [[], tables]
        for candidate in attempts:
            try:
                return compile_message(payer, instructions, blockhash, lookup_tables=candidate, tip=tip)
            except PackageError as exc:
                if exc.reason != "too_large" or candidate or not self.lookup_tables:
                    raise
                self._needs_tables.add(shape)
        raise AssertionError("unreachable")  # pragma: no cover


_Value = TypeVar("_Value")


def _keep(cache: dict[Any, _Value], key: object, value: _Value, limit: int) -> _Value:
    """Store `value` under `key`, dropping the oldest entry once `cache` holds `limit`."""
    if len(cache) >= limit:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


def _hop_key(payer: Pubkey, info: PoolInfo, a_to_b: bool) -> tuple[Any, ...]:
    """What makes two swap instructions the same but for their data: (payer, pool, direction, the
    venue's account layout for it). A pool's mints, and their token programs, never change."""
    return (payer, info.address, a_to_b, info.venue.swap_layout(info.pool, a_to_b))


def _shape(opportunity: Opportunity) -> tuple[str, ...]:
    return tuple(hop.venue for hop in opportunity.hops)


def _pool_info(pools: PoolLookup, pool_id: int, address: Pubkey) -> PoolInfo:
    """The hop's pool by its dense id, checked against its address (ids are per model instance)."""
    try:
        info = pools.pool(pool_id)
    except IndexError:
        info = None
    if info is None or info.address != address:
        found = pools.pool_id(address)
        if found is None:
            raise PackageError("unknown_pool", f"{address} is not in the market model")
        info = pools.pool(found)
    return info
