"""Run the benchmarks: `python benchmarks/run.py [--json] [--only PREFIX] [--quick] [--pools N ...]`.

Prints a table (or, with --json, one JSON object per result line). Each suite times the operation
its bench names on a seeded synthetic universe of each pool count.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from benchmarks.bench_e2e import EndToEndSuite
from benchmarks.bench_ingest import IngestSuite
from benchmarks.bench_package import PackageSuite, PreflightSuite
from benchmarks.bench_search import SearchSuite
from benchmarks.harness import BenchResult, Suite

SUITES: tuple[Suite, ...] = (
    IngestSuite(), SearchSuite(), PackageSuite(), PreflightSuite(), EndToEndSuite()
)  # fmt: skip
POOL_COUNTS = (1_000, 5_000, 20_000)
QUICK_POOL_COUNTS = (1_000,)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    parser.add_argument(
        "--only", default="", metavar="PREFIX", help="run benches whose name starts with PREFIX"
    )
    parser.add_argument("--quick", action="store_true", help="1,000 pools and fewer repetitions")
    parser.add_argument("--pools", type=int, nargs="+", help="pool counts (default 1000 5000 20000)")
    args = parser.parse_args(argv)
    pool_counts = args.pools or (QUICK_POOL_COUNTS if args.quick else POOL_COUNTS)

    def wanted(name: str) -> bool:
        return name.startswith(args.only)

    console = Console() if sys.stdout.isatty() else Console(width=160)
    results: list[BenchResult] = []
    for suite in SUITES:
        if not (suite.name.startswith(args.only) or args.only.startswith(suite.name)):
            continue
        for pools in pool_counts:
            for result in suite.run(pools, args.quick, wanted):
                results.append(result)
                if args.json:
                    print(json.dumps(result.as_json()), flush=True)
                else:
                    console.print(f"[dim]{result.bench} @ {pools:,} pools done[/]")
    if not args.json:
        console.print(table(results))
    return 0


def table(results: list[BenchResult]) -> Table:
    out = Table(title="benchmarks", header_style="bold")
    for column in ("bench", "pools", "n", "p50 µs", "p99 µs", "per s", "extra", "target"):
        out.add_column(column, justify="left" if column in ("bench", "extra", "target") else "right")
    for r in results:
        extra = ", ".join(f"{k}={v:,.1f}" for k, v in r.extra.items())
        out.add_row(
            r.bench,
            f"{r.pools:,}",
            f"{r.n:,}",
            f"{r.p50_us:,.1f}",
            f"{r.p99_us:,.1f}",
            f"{r.per_s:,.1f}",
            extra,
            r.target,
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
