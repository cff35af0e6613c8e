"""Program id → venue. The single place that lists the supported venues."""

from __future__ import annotations

from solders.pubkey import Pubkey

from mevbot.dex import raydium_amm_v4, raydium_cpmm, whirlpool
from mevbot.dex.base import DexError, Venue

VENUES: tuple[Venue, ...] = (raydium_amm_v4.VENUE, raydium_cpmm.VENUE, whirlpool.VENUE)
_BY_PROGRAM: dict[Pubkey, Venue] = {venue.program_id: venue for venue in VENUES}
_BY_NAME: dict[str, Venue] = {venue.name: venue for venue in VENUES}


class UnknownVenue(DexError, KeyError):
    """No supported venue owns this program id or has this name."""


def venue_for_program(program_id: Pubkey) -> Venue:
    try:
        return _BY_PROGRAM[program_id]
    except KeyError:
        raise UnknownVenue(f"no supported venue for program {program_id}") from None


def venue_by_name(name: str) -> Venue:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownVenue(f"unknown venue {name!r}; supported: {', '.join(sorted(_BY_NAME))}") from None
