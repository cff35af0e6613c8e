"""Python models of the venue swap programs, executed by the bank on the accounts it holds."""

from __future__ import annotations

from mevbot.sandbox.native import NativeProgram
from mevbot.sandbox.programs.raydium_amm_v4 import AmmV4SwapProgram
from mevbot.sandbox.programs.raydium_cpmm import CpmmSwapProgram
from mevbot.sandbox.programs.whirlpool import WhirlpoolSwapProgram


def venue_programs() -> tuple[NativeProgram, ...]:
    """One program per supported venue, keyed by the venue's program id."""
    return (AmmV4SwapProgram(), CpmmSwapProgram(), WhirlpoolSwapProgram())
