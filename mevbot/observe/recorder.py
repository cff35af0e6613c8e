"""Turns the loop's events into store rows: the ids, the Decision DNA chain, the risk log.

The recorder hands rows to the single `StoreWriter`; it never touches the database itself except to
read back where the chains ended when the daemon starts.

The hot path's records (an opportunity, its decision, the bundle sent) take their ids at once but
make their rows later: the decision's canonical JSON and chain hash cost more than signing the
bundle, and nothing needs them before the bundle is on its way. Deferred rows are made in the
order they were recorded (so the chain is the one recording them at once would give) as soon as
the event loop is free, and at the latest when the writer flushes.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from mevbot import __version__
from mevbot.decide.bandit import Arm, Bandit
from mevbot.decide.risk import RiskState, RiskTransition
from mevbot.events import Decision, Opportunity
from mevbot.observe.dna import GENESIS, canonical_json, chain_hash
from mevbot.observe.store import Store, StoreWriter
from mevbot.package.bundle import Bundle


def route_label(opportunity: Opportunity) -> str:
    return " → ".join(str(mint)[:4] for mint in opportunity.token_path)


def decision_payload(decision: Decision, *, arm: str, config_hash: str) -> dict[str, Any]:
    """Everything the decision depended on: replaying these inputs must give the same decision."""
    opportunity = decision.opportunity
    return {
        "route": [
            {
                "pool": str(hop.pool),
                "venue": hop.venue,
                "a_to_b": hop.a_to_b,
                "mint_in": str(hop.mint_in),
                "mint_out": str(hop.mint_out),
                "amount_in": hop.amount_in,
                "amount_out": hop.amount_out,
                "state_version": hop.state_version,
                "state_slot": hop.state_slot,
            }
            for hop in opportunity.hops
        ],
        "amount_in": opportunity.amount_in,
        "amount_out": opportunity.amount_out,
        "profit": opportunity.profit,
        "tip_lamports": decision.tip_lamports,
        "fee_lamports": decision.fee_lamports,
        "expected_net_lamports": decision.expected_net_lamports,
        "send": decision.send,
        "reason": decision.reason,
        "arm": arm,
        "config": config_hash,
        "code": __version__,
    }


class Recorder:
    def __init__(self, store: Store, writer: StoreWriter) -> None:
        self.writer = writer
        (self._next_opportunity,) = store.query("SELECT coalesce(max(id), 0) + 1 FROM opportunities")[0]
        last = store.query("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1")
        self._next_seq, self._prev_hash = (last[0][0] + 1, last[0][1]) if last else (1, GENESIS)
        self._deferred: deque[Callable[[], None]] = deque()
        writer.before_flush(self.settle)

    def settle(self) -> None:
        """Make every deferred row now, in the order they were recorded."""
        while self._deferred:
            self._deferred.popleft()()

    def _defer(self, make_rows: Callable[[], None]) -> None:
        self._deferred.append(make_rows)
        if len(self._deferred) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.settle)
            except RuntimeError:  # no event loop to wait for: make the rows now
                self.settle()

    def opportunity(self, opportunity: Opportunity, ts: float) -> int:
        """The opportunity's id; its row is made later."""
        oid = self._next_opportunity
        self._next_opportunity += 1
        self._defer(lambda: self._put_opportunity(oid, opportunity, ts))
        return oid

    def _put_opportunity(self, oid: int, opportunity: Opportunity, ts: float) -> None:
        venues = ",".join(hop.venue for hop in opportunity.hops)
        self.writer.put(
            "opportunities",
            (
                oid,
                ts,
                opportunity.slot,
                route_label(opportunity),
                venues,
                len(opportunity.hops),
                str(opportunity.mint),
                opportunity.amount_in,
                opportunity.amount_out,
                opportunity.profit,
            ),
        )

    def decision(
        self, decision: Decision, opportunity_id: int, ts: float, *, arm: str, config_hash: str
    ) -> int:
        """The decision's sequence number; its DNA record is made (and chained) later."""
        seq = self._next_seq
        self._next_seq += 1
        self._defer(lambda: self._put_decision(seq, decision, opportunity_id, ts, arm, config_hash))
        return seq

    def _put_decision(
        self, seq: int, decision: Decision, opportunity_id: int, ts: float, arm: str, config_hash: str
    ) -> None:
        payload = canonical_json(decision_payload(decision, arm=arm, config_hash=config_hash))
        digest = chain_hash(self._prev_hash, payload)
        self.writer.put(
            "decisions",
            (
                seq,
                ts,
                opportunity_id,
                decision.send,
                decision.reason,
                decision.tip_lamports,
                decision.fee_lamports,
                decision.expected_net_lamports,
                arm,
                self._prev_hash,
                payload,
                digest,
            ),
        )
        self._prev_hash = digest

    def bundle_sent(
        self,
        bundle: Bundle | str,
        decision_seq: int,
        ts: float,
        *,
        regions: list[str],
        refused: list[tuple[str, str]],
        tip_lamports: int,
        dry_run: bool,
    ) -> None:
        """Deferred like its decision. `bundle`: the id the block engine gave, or the bundle, whose
        id (a hash of its base58 signatures, ~8 µs) is then worked out with the row."""
        self._defer(
            lambda: self.writer.put(
                "bundles",
                (
                    bundle if isinstance(bundle, str) else bundle.bundle_id,
                    ts,
                    decision_seq,
                    ",".join(regions),
                    json.dumps(refused),
                    tip_lamports,
                    dry_run,
                ),
            )
        )

    def bundle_result(
        self,
        bundle_id: str,
        ts: float,
        *,
        outcome: str,
        status: str,
        landed_slot: int | None,
        reason: str | None,
        pnl_lamports: int | None,
        tip_paid: int,
        fee_paid: int | None,
    ) -> None:
        """One bundle's outcome; a landed one whose transaction was not found has PnL and fee None."""
        self.writer.put(
            "bundle_results",
            (bundle_id, ts, outcome, status, landed_slot, reason, pnl_lamports, tip_paid, fee_paid),
        )

    def cost(self, kind: str, lamports: int, detail: str, ts: float) -> None:
        """Spending outside bundles (lookup-table rent and fees), so the books add up to the wallet."""
        self.writer.put("costs", (ts, kind, lamports, detail))

    def holding(self, mint: str, amount: int, slot: int, ts: float) -> None:
        self.writer.put("balances", (ts, slot, mint, amount))

    def risk(self, transition: RiskTransition) -> None:
        self.writer.put(
            "risk_transitions", (transition.at, str(transition.state), transition.reason, transition.until)
        )


    def bandit(self, bandit: Bandit, ts: float) -> None:
        for arm in bandit.arms:
            self.writer.put(
                "bandit_arms",
                (ts, bandit.context, arm.name, arm.payoff, arm.alpha, arm.beta, arm.pulls, arm.reward_sum,
                 bandit.explored),
            )


def load_bandit_arms(store: Store) -> dict[str, tuple[list[Arm], int]]:
    """The newest saved state of every bandit context: its arms and its exploration count."""
    rows = store.query(
        """SELECT context, arm, payoff, alpha, beta, pulls, reward_sum, explored FROM bandit_arms
           QUALIFY row_number() OVER (PARTITION BY context, arm ORDER BY ts DESC) = 1
           ORDER BY context, payoff DESC, arm"""
    )
    out: dict[str, tuple[list[Arm], int]] = {}
    for context, name, payoff, alpha, beta, pulls, reward_sum, explored in rows:
        arms, _ = out.get(context, ([], 0))
        arms.append(Arm(name, payoff, alpha, beta, int(pulls), reward_sum))
        out[context] = (arms, max(int(explored), out.get(context, ([], 0))[1]))
    return out


def restore_bandit(bandit: Bandit, saved: dict[str, tuple[list[Arm], int]]) -> None:
    """Carry saved posteriors onto a bandit built from the current config (new arms start at the prior)."""
    if bandit.context not in saved:
        return
    arms, explored = saved[bandit.context]
    by_name = {arm.name: arm for arm in arms}
    bandit.arms = [by_name.get(arm.name, arm) for arm in bandit.arms]
    bandit.explored = explored


def load_holdings(store: Store) -> dict[str, int]:
    """The last recorded holding of each token: the inventory a restart starts from."""
    rows = store.query("SELECT mint, amount FROM balances QUALIFY row_number() OVER (PARTITION BY mint ORDER BY ts DESC) = 1")
    return {mint: int(amount) for mint, amount in rows}


def load_risk_transitions(store: Store) -> list[RiskTransition]:
    rows = store.query("SELECT ts, state, reason, until FROM risk_transitions ORDER BY ts")
    return [RiskTransition(ts, RiskState(state), reason, until) for ts, state, reason, until in rows]
