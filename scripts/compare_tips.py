"""The tip bandit against a fixed tip, in the same seeded sandbox, against one competitor.

    .venv/bin/python scripts/compare_tips.py --seed 4 --slots 1000 --competitor-tip 0.2

Runs the daemon twice on fresh sandboxes with the same seed: once with one fixed tip fraction, once
with the bandit's arms, and prints each run's realised PnL (lamports, from the landed transactions)
and bundle counts, then what the bandit learned per route class. Runs are not bit-identical: the
sandbox's auctions run on the wall clock, so which updates meet in one auction varies a little.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

from mevbot.config import parse_config
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.engine import Endpoints, Engine
from mevbot.sandbox.cluster import start_sandbox
from mevbot.sandbox.competitors import CompetitorSettings
from mevbot.sandbox.settings import settings_from_config


async def one_run(args: argparse.Namespace, fractions: list[float], db: Path) -> tuple[dict[str, Any], Engine]:
    config = parse_config(
        {
            "sandbox": {"seed": args.seed, "pools": args.pools, "slot_ms": args.slot_ms, "user_swaps_per_slot": 3.0,
                        "rate_limit_per_s": 1000.0},
            "search": {"max_hops": 3},
            "decide": {"min_profit_lamports": 1, "max_failures_in_row": 10_000, "tip_fractions": fractions},
            "storage": {"db_path": str(db)},
            "control": {"emergency_stop_file": str(db.with_suffix(".STOP"))},
            "metrics": {"port": 0},
        }
    )  # fmt: skip
    competitor = CompetitorSettings(tip_fraction=args.competitor_tip)
    async with start_sandbox(settings_from_config(config.sandbox, competitors=(competitor,))) as sandbox:
        endpoints = Endpoints((sandbox.rpc_url,), (sandbox.ws_url,), (("sandbox", sandbox.block_engine_url),),
                              sandbox.payer_keypair_path, base_mints=(NATIVE_MINT,))  # fmt: skip
        engine = Engine(config, endpoints)
        summary = await engine.run(slots=args.slots, duration=args.slots * args.slot_ms / 1000 * 4 + 60)
    return summary.figures, engine


def line(label: str, figures: dict[str, Any]) -> str:
    return (
        f"{label:<10}  pnl {figures['pnl_lamports']:>14,}  landed {figures['landed']:>4}  lost {figures['lost']:>4}  "
        f"failed {figures['failed']:>4}  (of those to our own bundles {figures['lost_to_self']:>4})  "
        f"tips {figures['tips_lamports']:>14,}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--slot-ms", type=int, default=25)
    parser.add_argument("--pools", type=int, default=40)
    parser.add_argument("--competitor-tip", type=float, default=0.5)
    parser.add_argument("--fixed", type=float, default=0.5)
    parser.add_argument("--arms", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9])
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        fixed, _ = await one_run(args, [args.fixed], Path(tmp) / "fixed.duckdb")
        learned, engine = await one_run(args, args.arms, Path(tmp) / "bandit.duckdb")
    print(f"seed {args.seed}, {args.slots} slots of {args.slot_ms} ms, competitor tips {args.competitor_tip:.0%}")
    print(line(f"fixed {args.fixed:.0%}", fixed))
    print(line("bandit", learned))
    for bandit in sorted(engine._bandits.values(), key=lambda b: -sum(a.pulls for a in b.arms)):
        arms = "  ".join(f"{arm.name} {arm.pulls:>3}×{arm.mean:.2f}" for arm in bandit.arms)
        print(f"  {bandit.context:<42} best {bandit.best().name}   {arms}")


if __name__ == "__main__":
    asyncio.run(main())
