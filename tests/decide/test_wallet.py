"""What the wallet can carry: the sizing cap and the refusals, as pure functions of what was read."""

from __future__ import annotations

from solders.pubkey import Pubkey

from mevbot.decide.wallet import PAYER_RENT_RESERVE_LAMPORTS, Wallet, sizing_cap, wallet_refusal
from mevbot.dex.spl_token import NATIVE_MINT
from mevbot.events import Opportunity, RouteHop

MID = Pubkey.new_unique()
OPPORTUNITY = Opportunity(
    (
        RouteHop(Pubkey.new_unique(), 0, "whirlpool", True, NATIVE_MINT, MID, 10**6, 77, 3, 41),
        RouteHop(Pubkey.new_unique(), 1, "raydium_cpmm", False, MID, NATIVE_MINT, 77, 10**6 + 500, 8, 42),
    ),
    10**6, 10**6 + 500, 500, 42,
)  # fmt: skip


def test_sizing_stays_within_the_limit_and_the_wrapped_sol_held() -> None:
    assert sizing_cap(5_000, Wallet()) == 5_000  # nothing read: the limit alone
    assert sizing_cap(5_000, Wallet(wrapped_sol=3_000)) == 3_000
    assert sizing_cap(5_000, Wallet(wrapped_sol=9_000)) == 5_000
    assert sizing_cap(5_000, Wallet(wrapped_sol=0)) == 0


def test_a_trade_the_wallet_cannot_carry_is_refused_with_the_reason() -> None:
    assert wallet_refusal(Wallet(), OPPORTUNITY, 200, 5_000) is None  # nothing read: nothing checked
    both = frozenset({NATIVE_MINT, MID})
    assert wallet_refusal(Wallet(token_accounts=both), OPPORTUNITY, 200, 5_000) is None
    assert wallet_refusal(Wallet(token_accounts=frozenset({NATIVE_MINT})), OPPORTUNITY, 200, 5_000) == (
        f"no token account for {MID}"
    )
    enough = 200 + 5_000 + PAYER_RENT_RESERVE_LAMPORTS
    assert wallet_refusal(Wallet(lamports=enough), OPPORTUNITY, 200, 5_000) is None
    short = wallet_refusal(Wallet(lamports=enough - 1), OPPORTUNITY, 200, 5_000)
    assert short is not None and short.startswith(f"{enough - 1} lamports cannot pay tip 200 and fee 5000")
