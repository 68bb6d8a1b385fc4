"""Figures of notebook 04 (market basket). Each function takes the rules table (``artifacts/rules.parquet``,
columns named in :mod:`workbench.data.contract`) and returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.data.contract import ANTECEDENTS, CONFIDENCE, CONSEQUENTS, LIFT, SUPPORT


def _short(text, n: int = 45) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def _label(items) -> str:
    return ", ".join(map(str, items)) if isinstance(items, (list, tuple, np.ndarray)) else str(items)


def rules_table(rules: pd.DataFrame, n: int = 15) -> plt.Figure:
    """A table figure of the first ``n`` rules: antecedents => consequents, support, confidence, lift."""
    head = rules.head(n)
    rows = [[_short(_label(r[ANTECEDENTS]), 60), _short(_label(r[CONSEQUENTS]), 34), f"{r[SUPPORT]:.4f}",
             f"{r[CONFIDENCE]:.3f}", f"{r[LIFT]:.2f}"] for _, r in head.iterrows()]
    fig, ax = plt.subplots(figsize=(12, 0.3 * max(len(rows), 1) + 0.8))
    ax.axis("off")
    if rows:
        tab = ax.table(cellText=rows, colLabels=["if the basket holds", "then also", "support", "confidence", "lift"],
                       loc="center", cellLoc="left", colWidths=[0.46, 0.28, 0.09, 0.09, 0.08])
        tab.auto_set_font_size(False)
        tab.set_fontsize(8)
        tab.scale(1, 1.15)
    ax.set_title(f"Top {len(rows)} association rules by lift")
    fig.tight_layout()
    return fig


def support_confidence(rules: pd.DataFrame, max_points: int = 20000, seed: int = 0) -> plt.Figure:
    """Scatter of rule support vs confidence, coloured by lift (log colour scale); a fixed sample if huge."""
    r = rules
    if len(r) > max_points:
        r = r.sample(max_points, random_state=seed)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    if len(r):
        from matplotlib.colors import LogNorm

        lift = r[LIFT].to_numpy(dtype=float)
        sc = ax.scatter(r[SUPPORT], r[CONFIDENCE], c=lift, cmap="viridis", s=8, alpha=0.7,
                        norm=LogNorm(vmin=max(lift.min(), 1e-3), vmax=max(lift.max(), 1.0 + 1e-9)))
        fig.colorbar(sc, ax=ax, label="lift")
        ax.set_xscale("log")
    ax.set(title=f"{len(rules):,} rules: support vs confidence", xlabel="support (log)", ylabel="confidence")
    fig.tight_layout()
    return fig


def rules_network(rules: pd.DataFrame, n: int = 25, names: dict | None = None) -> plt.Figure:
    """Network of the ``n`` strongest rules (by lift) on a circle: arrows antecedent item -> consequent item,
    width by confidence, colour by lift. Drawn with matplotlib only."""
    head = rules.head(n)
    edges = [(a, c, float(cf), float(lf)) for ante, cons, cf, lf in
             zip(head[ANTECEDENTS], head[CONSEQUENTS], head[CONFIDENCE], head[LIFT]) for a in ante for c in cons]
    nodes = sorted({e[0] for e in edges} | {e[1] for e in edges}, key=str)
    fig, ax = plt.subplots(figsize=(10, 10.5))
    ax.axis("off")
    if not nodes:
        ax.set_title("no rules to draw")
        return fig
    ang = 2 * np.pi * np.arange(len(nodes)) / len(nodes)
    pos = {v: (np.cos(t), np.sin(t)) for v, t in zip(nodes, ang)}
    lifts = np.array([e[3] for e in edges])
    cmap = plt.get_cmap("plasma")
    lo, hi = lifts.min(), max(lifts.max(), lifts.min() + 1e-9)
    for a, c, cf, lf in edges:  # at most a few dozen arrows
        (x0, y0), (x1, y1) = pos[a], pos[c]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color=cmap((lf - lo) / (hi - lo)), lw=0.5 + 3 * cf,
                                    alpha=0.75, shrinkA=6, shrinkB=6, connectionstyle="arc3,rad=0.08"))
    xy = np.array([pos[v] for v in nodes])
    ax.scatter(xy[:, 0], xy[:, 1], s=60, color="#4C72B0", zorder=3)
    for v, t in zip(nodes, ang):
        x, y = pos[v]
        label = _short((names or {}).get(v, v), 28)
        ax.text(1.08 * x, 1.08 * y, label, fontsize=7, ha="left" if np.cos(t) >= 0 else "right", va="center",
                rotation=np.degrees(t) if np.cos(t) >= 0 else np.degrees(t) - 180, rotation_mode="anchor")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(lo, hi))
    fig.colorbar(sm, ax=ax, orientation="horizontal", fraction=0.035, pad=0.02, label="lift")
    ax.set_xlim(-2.0, 2.0)
    ax.set_ylim(-2.0, 2.0)
    ax.set_aspect("equal")
    ax.set_title(f"Strongest {len(head)} rules (arrow: antecedent item -> consequent item, width ~ confidence)",
                 pad=12)
    return fig
