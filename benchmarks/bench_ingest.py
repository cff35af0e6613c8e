"""Ingest benchmark: what one core can take from the socket into the model.

- ingest.decode: one PubSub `accountNotification` (JSON text, base64 data) parsed into an
  `AccountUpdate` (`parse_message`) and applied to the model (`MarketModel.apply`: the float view
  of the pools that read the account refreshed, from the pool's lane where it has one, else by
  decoding and re-loading them; a lane leaves the exact state to be built when read, which this
  bench never does: the daemon builds it only for the pools of a route it quotes, and
  `e2e.decision_latency` counts it). No search. per_s is the rate one
  thread sustains back to back (target ≥ 100,000/s); the updates are the search bench's.
  `parse_p50_us`/`parse_per_s`: `parse_message` alone on the same messages, to split the cost.
  `cpu_per_s`: the same rate from the thread's CPU time, which time the scheduler gave to other
  processes does not count in: what to compare on a busy machine. The market is kept out of the
  garbage collector's passes, as the daemon keeps it (`long_lived_heap`): left in, full
  collections walk it (~8 % of the samples at 5,000 pools).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from benchmarks.feed import notifications, random_updates, subscription_ids
from benchmarks.harness import BenchResult, summarize, time_calls
from mevbot.engine import long_lived_heap
from mevbot.events import AccountUpdate
from mevbot.ingest.pubsub import parse_message
from mevbot.market.model import MarketModel
from mevbot.sandbox.universe import generate_universe

SEED = 7


class IngestSuite:
    name = "ingest."

    def run(self, pools: int, quick: bool, wanted: Callable[[str], bool]) -> Iterator[BenchResult]:
        if wanted("ingest.decode"):
            yield decode(pools, 5_000 if quick else 50_000)


def decode(pools: int, n: int) -> BenchResult:
    model, _ = MarketModel.from_accounts(generate_universe(SEED, pools).accounts)
    subscriptions = subscription_ids(model)
    messages = notifications(random_updates(model, n + 100, seed=2), subscriptions)
    parse_only = iter(messages)
    parse = summarize(
        "", 0, time_calls(lambda: parse_message(next(parse_only), subscriptions), n, warmup=100)
    )
    cursor = iter(messages)

    def one_message() -> None:
        update = parse_message(next(cursor), subscriptions)
        assert isinstance(update, AccountUpdate)
        model.apply(update)

    with long_lived_heap():  # as `Engine.run` does once the market is loaded
        cpu = time.thread_time()
        samples = time_calls(one_message, n, warmup=100)
        cpu = time.thread_time() - cpu
    return summarize(
        "ingest.decode", len(model.registry), samples, target="≥ 100,000/s",
        parse_p50_us=parse.p50_us, parse_per_s=parse.per_s, not_applied=model.stats.updates - model.stats.applied,
        message_bytes=sum(map(len, messages)) / len(messages), cpu_per_s=(n + 100) / cpu,
    )  # fmt: skip
