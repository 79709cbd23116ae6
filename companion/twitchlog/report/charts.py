"""The report's charts: matplotlib (Agg) figures rendered to inline SVG strings.

Each function returns one ``<svg ...>`` element, no XML prologue, so the HTML
stays self-contained (no files, no network).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from twitchlog.stats.result import LagTerm, Result

INK = "#222222"
SUPP = "#2a9d8f"
DIET = "#e9c46a"
EVENTS = "#3a5a99"
UNTRACKED = "#d9d9d9"
ON_BLOCK = "#e6f4f1"
BENEFIT = "#6a994e"  # posterior bars: fewer events (apart from the intake colour, so charts stay tellable)
HARM = "#b0b0b0"
KIND_COLOURS = ["#3a5a99", "#e76f51", "#8ab17d", "#9b5de5", "#f4a261", "#264653", "#ef476f", "#118ab2", "#6d6875"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "svg.hashsalt": "twitchlog"}
    )
    return plt


def _svg(fig, label: str) -> str:
    plt = _plt()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    start = text.index("<svg")
    svg = text[start:]
    # Scale to the page width; keep the aspect ratio from the viewBox.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 width="100%"', svg, count=1)
    return svg.replace("<svg", f'<svg role="img" aria-label="{label}" class="chart"', 1)


#: Up to this many days, one bar per day; beyond it, filled steps (thousands of bars make huge, slow SVGs).
MAX_BARS = 180
_HALF_DAY = pd.Timedelta(hours=12)


def _spans(ax, index: pd.DatetimeIndex, mask: np.ndarray, colour: str) -> None:
    """Shade each run of consecutive days where `mask` holds (one rectangle per run, not per day)."""
    mask = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        ax.axvspan(index[start] - _HALF_DAY, index[stop - 1] + _HALF_DAY, color=colour, lw=0, zorder=0)


def _daily_bars(ax, index: pd.DatetimeIndex, values: np.ndarray, colour: str, **kw) -> None:
    if len(index) <= MAX_BARS:
        ax.bar(index, values, width=0.8, color=colour, **kw)
    else:
        ax.fill_between(index, np.nan_to_num(values), step="mid", color=colour, lw=0, **kw)


def timeline(series: pd.DataFrame, title: str) -> str:
    """Daily counts (untracked days shaded, model fit dotted) over supplemental and dietary intake."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(9, 4.6), sharex=True, gridspec_kw={"height_ratios": [3, 1.6]})
    x = pd.DatetimeIndex(series.index)
    tracked = series["tracked"].to_numpy(bool)
    if "planned_mg" in series:
        for a in (ax, ax2):
            _spans(a, x, series["planned_mg"].fillna(0).to_numpy() > 0, ON_BLOCK)
    ymax = max(1, int(series["events"].max()))
    _spans(ax, x, ~tracked, UNTRACKED)
    counts = np.where(tracked, series["events"].to_numpy(float), np.nan)
    _daily_bars(ax, x, counts, EVENTS, label="events (tracked day)")
    if "fitted" in series and series["fitted"].notna().any():
        ax.plot(x, series["fitted"], ":", color=INK, lw=1.2, label="model fit")
    ax.set_ylim(0, ymax * 1.15)
    ax.set_ylabel("events / day")
    ax.set_title(title, loc="left")
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles.append(Patch(color=UNTRACKED, label="not tracked"))
    if "planned_mg" in series:
        handles.append(Patch(color=ON_BLOCK, label="plan: on block"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    _daily_bars(ax2, x, series["supp_mg"].to_numpy(float), SUPP, label="supplement (elemental mg)")
    if series["diet_mg"].notna().any():
        style = "o-" if len(x) <= MAX_BARS else "-"
        ax2.plot(x, series["diet_mg"], style, ms=2.5, lw=1, color=DIET, label="diet (mg)")
    ax2.set_ylabel("Mg mg / day")
    ax2.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    fig.autofmt_xdate()
    return _svg(fig, "timeline of daily counts and intake")


def forest(rows: Sequence[tuple[str, float | None, float | None, float | None]], title: str) -> str:
    """Rate ratios with 95% CIs on a log axis, one row per (label, rr, lo, hi); 1 = no effect."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * max(1, len(rows))))
    ys = np.arange(len(rows))[::-1]
    finite = [v for _, rr, lo, hi in rows for v in (rr, lo, hi) if v is not None and math.isfinite(v) and v > 0]
    lo_lim = min([0.25] + finite) / 1.2
    hi_lim = max([2.0] + finite) * 1.2
    for y, (_label, rr, lo, hi) in zip(ys, rows, strict=True):
        if rr is None or not math.isfinite(rr):
            ax.text(1.0, y, "  no estimate", va="center", fontsize=8, color="#777777")
            continue
        ax.plot([lo, hi], [y, y], color=INK, lw=1.5)
        ax.plot([rr], [y], "s", color=EVENTS, ms=7)
        ax.text(hi_lim, y, f"  {rr:.2f} ({lo:.2f}-{hi:.2f})", va="center", fontsize=8)
    ax.axvline(1.0, color="#999999", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(lo_lim, hi_lim)
    ticks = [t for t in (0.1, 0.25, 0.5, 0.7, 1, 1.5, 2, 4, 10) if lo_lim <= t <= hi_lim]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(ys, [r[0] for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("rate ratio per 100 mg/day (95% CI); < 1 means fewer events")
    ax.set_title(title, loc="left")
    return _svg(fig, title)


def lag_profile(terms: list[LagTerm]) -> str:
    rows = [(t.term, t.rate_ratio, t.ci_low, t.ci_high) for t in terms]
    return forest(rows, "Lag profile: each term fitted alone (Holm-corrected p in the table)")


def hours(table: pd.DataFrame) -> str:
    """Events by local hour of day, stacked by kind."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 2.8))
    bottom = np.zeros(24)
    for i, kind in enumerate(table.columns):
        vals = table[kind].to_numpy(float)
        ax.bar(np.arange(24), vals, bottom=bottom, width=0.85, color=KIND_COLOURS[i % len(KIND_COLOURS)], label=kind)
        bottom += vals
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel("local hour of day")
    ax.set_ylabel("events")
    ax.set_title("Hour of day", loc="left")
    ax.legend(frameon=False, fontsize=8, ncols=min(5, len(table.columns)))
    return _svg(fig, "events by hour of day")


def per_kind(counts: pd.DataFrame, tracked: pd.Series) -> str:
    """Small multiples: each kind's daily counts on tracked days with a 7-day mean."""
    plt = _plt()
    kinds = list(counts.columns)
    fig, axes = plt.subplots(len(kinds), 1, figsize=(10, 1.0 + 1.5 * len(kinds)), sharex=True, squeeze=False)
    for i, (ax, kind) in enumerate(zip(axes[:, 0], kinds, strict=True)):
        y = counts[kind].where(tracked)
        colour = KIND_COLOURS[i % len(KIND_COLOURS)]
        _daily_bars(ax, pd.DatetimeIndex(y.index), y.to_numpy(float), colour, alpha=0.45)
        ax.plot(y.index, y.rolling(7, min_periods=4).mean(), color=colour, lw=1.6)
        ax.set_ylabel(kind)
    axes[0, 0].set_title("Per symptom kind: daily counts and 7-day mean (tracked days)", loc="left")
    fig.autofmt_xdate()
    return _svg(fig, "per symptom kind")


def effect_rows(results: dict[str, Result]) -> list[tuple[str, float | None, float | None, float | None]]:
    return [(name, r.rate_ratio_per_100mg, r.ci_low, r.ci_high) for name, r in results.items()]


#: Effect sizes for the posterior chart: (label, lower, upper) in fractional change of events.
EFFECT_BINS = (
    ("50% fewer\nor more", -1.0, -0.5),
    ("30-50%\nfewer", -0.5, -0.3),
    ("20-30%\nfewer", -0.3, -0.2),
    ("10-20%\nfewer", -0.2, -0.1),
    ("0-10%\nfewer", -0.1, 0.0),
    ("0-10%\nmore", 0.0, 0.1),
    ("10-25%\nmore", 0.1, 0.25),
    ("25% more\nor more", 0.25, math.inf),
)


def effect_probabilities(post) -> list[tuple[str, float]]:  # noqa: ANN001 - a verdict.Posterior
    """The posterior probability of each size of effect (EFFECT_BINS)."""
    out = []
    for label, lo, hi in EFFECT_BINS:
        upper = post.prob_below(math.log1p(hi)) if math.isfinite(hi) else 1.0
        lower = post.prob_below(math.log1p(lo)) if lo > -1 else 0.0
        out.append((label, max(upper - lower, 0.0)))
    return out


def posterior_bars(post, what: str, dose_mg: float | None) -> str:  # noqa: ANN001 - a verdict.Posterior
    """Bars: the probability of each size of effect at the dose (green: fewer events, grey: more)."""
    plt = _plt()
    rows = effect_probabilities(post)
    fig, ax = plt.subplots(figsize=(8, 2.8))
    colours = [BENEFIT if lo < 0 else HARM for _, lo, _ in EFFECT_BINS]
    x = np.arange(len(rows))
    probs = [p for _, p in rows]
    ax.bar(x, probs, color=colours, width=0.75)
    for xi, p in zip(x, probs, strict=True):
        ax.text(xi, p + 0.01, f"{p:.0%}" if p >= 0.005 else "<1%", ha="center", va="bottom", fontsize=8, color=INK)
    ax.set_xticks(x, [label for label, _ in rows], rotation=0, fontsize=7.5)
    ax.set_ylim(0, max(max(probs) * 1.25, 0.1))
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    dose = f" at {dose_mg:g} mg/day" if dose_mg else ""
    ax.set_title(f"How likely is each size of effect on your {what}{dose}?", loc="left", fontsize=9)
    return _svg(fig, f"Probability of each size of effect on {what}")
