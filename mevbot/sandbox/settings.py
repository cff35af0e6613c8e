"""What a sandbox run is made of. The daemon's config maps onto this; the sandbox reads nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mevbot.sandbox.competitors import CompetitorSettings, competitor_lineup
from mevbot.sandbox.user_flow import FlowShape


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """A seeded local cluster. Ports 0 pick free ones; every server binds 127.0.0.1.

    `program_binaries` maps a venue name (``raydium_amm_v4``, ``raydium_cpmm``, ``whirlpool``) to
    a compiled program (.so) to run in LiteSVM instead of the Python model of its swaps.
    `state_dir` holds the payer keypair file; None makes a temporary one removed at stop.
    `confirmation_slots`: how many slots after it lands a transaction is confirmed, and so found by
    `getTransaction` (mainnet: a slot or two, more from a lagging node; 0: at once).
    `status_reasons`: whether the block engine's statuses say why a bundle failed (mainnet's do not).
    """

    seed: int = 0
    pools: int = 24
    tokens: int | None = None
    planted_cycles: int | None = None
    slot_ms: int = 400
    confirmation_slots: int = 0
    status_reasons: bool = True
    jito_slot_share: float = 0.9
    auction_interval_ms: int = 50
    rpc_port: int = 0
    ws_port: int = 0
    block_engine_port: int = 0
    rate_limit_per_s: float = 5.0
    user_flow: FlowShape = field(default_factory=FlowShape)
    competitors: tuple[CompetitorSettings, ...] = (CompetitorSettings(),)
    program_binaries: Mapping[str, Path] = field(default_factory=dict)
    payer_lamports: int = 1_000 * 10**9
    state_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.slot_ms <= 0 or self.auction_interval_ms <= 0:
            raise ValueError("slot_ms and auction_interval_ms must be positive")
        if not 0.0 <= self.jito_slot_share <= 1.0:
            raise ValueError(f"jito_slot_share {self.jito_slot_share} is not within [0, 1]")
        if self.confirmation_slots < 0:
            raise ValueError("confirmation_slots must not be negative")
        if self.rate_limit_per_s <= 0:
            raise ValueError("rate_limit_per_s must be positive")
        for port in (self.rpc_port, self.ws_port, self.block_engine_port):
            if not 0 <= port <= 65535:
                raise ValueError(f"port {port} is out of range")
        names = [c.name for c in self.competitors]
        if len(set(names)) != len(names):
            raise ValueError("competitor names must be unique")


def settings_from_config(section: Any, **overrides: Any) -> SandboxSettings:
    """Settings from the daemon config's `[sandbox]` section, read by attribute name (seed, pools,
    slot_ms, confirmation_slots, status_reasons, jito_slot_share, rpc_port, ws_port, block_engine_port,
    competitors (a count), user_swaps_per_slot, rate_limit_per_s, program_binaries), then `overrides`
    (None values ignored)."""
    values: dict[str, Any] = {
        name: getattr(section, name)
        for name in ("seed", "pools", "slot_ms", "confirmation_slots", "status_reasons", "jito_slot_share",
                     "rpc_port", "ws_port", "block_engine_port", "rate_limit_per_s")
        if hasattr(section, name)
    }  # fmt: skip
    if hasattr(section, "competitors"):
        values["competitors"] = competitor_lineup(int(section.competitors))
    if hasattr(section, "user_swaps_per_slot"):
        values["user_flow"] = FlowShape(swaps_per_slot=float(section.user_swaps_per_slot))
    if hasattr(section, "program_binaries"):
        values["program_binaries"] = {name: Path(path) for name, path in section.program_binaries.items()}
    values.update({name: value for name, value in overrides.items() if value is not None})
    return SandboxSettings(**values)
