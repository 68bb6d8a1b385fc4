"""How strong the business rules may be: strengths chosen on validation within an NDCG budget.

The shipped lists start from a hybrid variant and then pass the business rules (stock filter, segment boosts,
diversity). Each rule buys something (intra-list diversity, products that fit the customer's segment) and costs
ranking accuracy. :func:`choose_strengths` picks, on validation customers, the strongest setting whose NDCG@K loss
against the start variant stays within ``max_ndcg_loss`` (the upper end of the loss's bootstrap interval, so that
a setting at the edge on validation does not cross it on new customers):

1. diversity first: the strongest level of ``max_per_category`` (K, K-1, ... 1) or of MMR's lambda (1.0 down
   to 0.5) that stays within the budget, the boost off;
2. then the segment boost: the largest boost that keeps the same diversity level within the budget.

A strength the product owner set by hand (a number in the params instead of ``auto``) is kept as given; the
report then states what it costs. When even the weakest setting is beyond the budget (the stock filter alone
costs more), the weakest is kept and ``within_budget`` says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

#: the params value that asks for a strength chosen on validation
AUTO = "auto"
#: MMR lambdas tried, weakest first (1.0 ranks by relevance alone)
MMR_LAMBDAS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)
#: segment boosts tried, weakest first (added to the start variant's score)
BOOSTS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def is_auto(value) -> bool:
    """True when a params value asks for the strength to be chosen on validation."""
    return isinstance(value, str) and value == AUTO


@dataclass(frozen=True)
class RuleStrength:
    """The rules' settings the lists are made with: the start variant, the diversity rule and its level, the boost."""

    variant: str
    diversity: str = "none"
    max_per_category: int = 0   # 0: no cap
    mmr_lambda: float = 1.0
    boost: float = 0.0

    def as_dict(self) -> dict:
        return {"variant": self.variant, "diversity": self.diversity, "max_per_category": int(self.max_per_category),
                "mmr_lambda": float(self.mmr_lambda), "boost": float(self.boost)}


@dataclass
class RuleChoice:
    """What :func:`choose_strengths` chose: the strength, what was set by hand, the trace of every setting tried."""

    strength: RuleStrength
    budget: float
    by_hand: dict[str, bool]
    trace: pd.DataFrame = field(default_factory=pd.DataFrame)
    variants: dict[str, float] = field(default_factory=dict)   # validation NDCG@K of each start variant
    within_budget: bool = True

    @property
    def validation_loss(self) -> float:
        """The chosen setting's mean NDCG loss on validation (start variant minus the lists after the rules)."""
        if self.trace.empty:
            return float("nan")
        return float(self.trace.loc[self.trace["chosen"], "loss"].iloc[0])

    def as_metrics(self) -> dict:
        return {"max_ndcg_loss": float(self.budget), "strength": self.strength.as_dict(),
                "chosen_on": {k: ("hand" if v else "validation") for k, v in self.by_hand.items()},
                "validation": {"start_ndcg": {k: float(v) for k, v in self.variants.items()},
                               "loss": self.validation_loss, "within_budget": bool(self.within_budget),
                               "settings_tried": int(len(self.trace))}}


def diversity_levels(diversity: str, k: int, max_per_category, mmr_lambda) -> list[tuple[int, float]]:
    """Return the (max_per_category, mmr_lambda) levels to try, weakest first (one level when set by hand)."""
    if diversity in (None, "none"):
        return [(0, 1.0)]
    if diversity == "max_per_category":
        if not is_auto(max_per_category):
            return [(int(max_per_category), 1.0)]
        return [(0, 1.0)] + [(n, 1.0) for n in range(int(k) - 1, 0, -1)]
    if diversity == "mmr":
        if not is_auto(mmr_lambda):
            return [(0, float(mmr_lambda))]
        return [(0, lam) for lam in MMR_LAMBDAS]
    raise ValueError(f"hybrid.rules.diversity must be none, max_per_category or mmr, not {diversity!r}")


def boost_levels(boost) -> list[float]:
    """Return the boosts to try, weakest first (one when set by hand)."""
    return list(BOOSTS) if is_auto(boost) else [float(boost)]


def choose_strengths(evaluate: Callable[[RuleStrength], dict], variant: str, diversity: str, k: int,
                     max_per_category, mmr_lambda, boost, budget: float) -> RuleChoice:
    """Return the strongest :class:`RuleStrength` within ``budget`` (see the module doc).

    ``evaluate(strength)`` returns ``{"loss": mean NDCG loss vs the start variant, "loss_high": the upper end of its
    bootstrap interval, "intra_list_diversity": mean intra-list diversity, "rule_share": share of listed products
    that fit the customer's segment rule}`` on validation. A setting is within the budget when ``loss_high`` is: the
    loss is then at most ``budget`` with the run's confidence, not only on average over these customers.
    """
    rows = []

    def run(strength: RuleStrength) -> dict:
        r = {**strength.as_dict(), **evaluate(strength)}
        r["feasible"] = bool(r["loss_high"] <= budget + 1e-12)
        rows.append(r)
        return r

    levels = diversity_levels(diversity, k, max_per_category, mmr_lambda)
    boosts = boost_levels(boost)
    first_boost = boosts[0]
    div_runs = [run(RuleStrength(variant, diversity if levels != [(0, 1.0)] else "none", n, lam, first_boost))
                for n, lam in levels]
    ok = [i for i, r in enumerate(div_runs) if r["feasible"]]
    i_div = ok[-1] if ok else 0  # levels are weakest first; none within budget: the weakest
    n, lam = levels[i_div]
    kept = div_runs[i_div]
    best = RuleStrength(variant, kept["diversity"], n, lam, first_boost)
    for b in boosts[1:]:
        r = run(RuleStrength(variant, kept["diversity"], n, lam, b))
        if r["feasible"]:
            best, kept = RuleStrength(variant, kept["diversity"], n, lam, b), r
    trace = pd.DataFrame(rows)
    trace["chosen"] = [(r["max_per_category"], r["mmr_lambda"], r["boost"]) ==
                       (best.max_per_category, best.mmr_lambda, best.boost) for r in rows]
    trace["chosen"] &= ~trace.duplicated(["max_per_category", "mmr_lambda", "boost"], keep="first")
    by_hand = {"boost": not is_auto(boost)}  # and the strength of the diversity rule in use
    if diversity == "max_per_category":
        by_hand["max_per_category"] = not is_auto(max_per_category)
    elif diversity == "mmr":
        by_hand["mmr_lambda"] = not is_auto(mmr_lambda)
    return RuleChoice(best, float(budget), by_hand, trace, within_budget=bool(kept["feasible"]))


def list_diversity(categories: np.ndarray, listed: np.ndarray) -> np.ndarray:
    """Per list: 1 - the share of pairs of listed products in the same category (intra-list diversity over one-hot
    categories, as :func:`~workbench.evaluate.metrics.intra_list_diversity` computes it); NaN under two products.

    ``categories`` (customers x K) category codes of the listed products, ``listed`` marks the real entries."""
    n = listed.sum(axis=1).astype(np.float64)
    cat = np.where(listed, categories, -1)
    same = np.zeros(len(cat))
    for j in range(1, cat.shape[1]):  # each listed entry pairs with the equal listed entries before it (K^2 / 2 steps)
        same += ((cat[:, :j] == cat[:, j:j + 1]) & (cat[:, j:j + 1] >= 0)).sum(axis=1)
    pairs = n * (n - 1) / 2.0
    return np.divide(pairs - same, pairs, out=np.full(len(n), np.nan), where=pairs > 0)

