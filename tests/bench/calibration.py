"""ADEMP calibration of `twitchlog.stats.analysis` (BRIEF §8) and the 5-year timing (BRIEF §7).

Aims: does `analyze` keep its false-positive rate, cover the true effect with
its 95% CI, detect a 30% reduction per 100 mg in an 84-day randomized trial,
and refuse to credit magnesium with a fall that was already happening?

Data-generating mechanisms: `twitchlog.stats.simulate` (NB2 counts, dispersion
alpha, around a rate with AR(1) latent noise), base rates 0.6 and 3/day,
28-84 days; dosing randomized in 4-day on/off blocks (`trial.make_plan`),
self-chosen (a persistent on/off Markov chain), or a single start mid-series
while symptoms fall.

Estimand: log rate ratio per 100 mg/day, lags 0-3 combined (`analysis`).
Methods: `analysis.analyze` exactly as the CLI calls it (lag scan off).
Performance measures: rejection rate at alpha = 0.05 with its Monte Carlo SE,
95% CI coverage, median rate ratio, power.

    python tests/bench/calibration.py [--runs 1000] [--out FILE.md] [--update-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "companion"))

from scipy import stats

from twitchlog.stats import (
    analysis,
    simulate,
)

ALPHA = 0.05
# The BRIEF's power bar: RR 0.70 per 100 mg, base 3/day, 84 days, randomized 4-day blocks; at the planner's
# default dose (200 mg) and the default noise.
BAR_POWER = (3.0, 84, 0.7, 4, 200.0, "randomized", False, 0.3, 0.3)
DOCS = ROOT / "docs" / "statistics.md"
BEGIN, END = "<!-- calibration:begin -->", "<!-- calibration:end -->"


@dataclass(frozen=True)
class Scenario:
    group: str  # "null", "trend", "effect", "power"
    design: str  # "randomized", "observational", "step"
    base: float
    days: int
    rr: float = 1.0  # true rate ratio per 100 mg/day
    dose: float = 200.0
    trend: str | None = None  # None, "falling" (rate halves, log-linear), "flare" (settles from 2.5x base)
    alpha: float = 0.3  # NB2 dispersion
    latent_sd: float = 0.3
    phi: float = 0.6
    acute: float = 1.0  # share of the effect through lags 0-3 (rest through the 14-day mean)
    same_day: bool = False  # the acute effect acts on the dose day only (not spread over lags 0-3)
    block_days: int = 4
    runs: int = 1000

    @property
    def name(self) -> str:
        bits = [self.design, f"base {self.base:g}/d", f"{self.days} d"]
        if self.rr != 1.0:
            bits.append(f"RR {self.rr:g} @ {self.dose:g} mg")
        if self.trend:
            bits.append(f"trend {self.trend}")
        if (self.alpha, self.latent_sd) != (0.3, 0.3):
            bits.append(f"alpha {self.alpha:g}, latent sd {self.latent_sd:g}")
        if self.acute != 1.0:
            bits.append(f"{self.acute:.0%} acute")
        if self.same_day:
            bits.append("same-day effect")
        if self.design == "randomized":
            bits.insert(1, f"{self.block_days}-day blocks")
        return ", ".join(bits)

    @property
    def truth(self) -> float:
        """True b03 (log rate ratio per 100 mg/day, lags 0-3 combined); NaN when the model is misspecified."""
        return math.nan if self.same_day else self.acute * math.log(self.rr)


def scenarios(runs: int) -> list[Scenario]:
    out = []
    for design in ("observational", "randomized"):
        for base in (0.6, 3.0):
            for days in (28, 56, 84):
                out.append(Scenario("null", design, base, days, runs=runs))
    for trend in ("falling", "flare"):
        for base in (0.6, 3.0):
            for days in (56, 84):
                out.append(Scenario("trend", "step", base, days, trend=trend, runs=runs))
    for base in (0.6, 3.0):
        out.append(Scenario("trend", "observational", base, 84, trend="falling", runs=runs))
    for design in ("observational", "randomized"):
        for base in (0.6, 3.0):
            for days in (28, 56, 84):
                out.append(Scenario("effect", design, base, days, rr=0.7, runs=runs))
    out.append(Scenario("effect", "randomized", 3.0, 84, rr=0.7, acute=0.5, runs=runs))
    for dose in (200.0, 100.0, 300.0):
        out.append(Scenario("power", "randomized", 3.0, 84, rr=0.7, dose=dose, runs=runs))
    out.append(Scenario("power", "randomized", 3.0, 84, rr=0.7, same_day=True, runs=runs))
    out.append(Scenario("power", "randomized", 3.0, 84, rr=0.7, alpha=0.1, latent_sd=0.15, runs=runs))
    out.append(Scenario("power", "randomized", 3.0, 84, rr=0.7, block_days=7, runs=runs))
    out.append(Scenario("power", "randomized", 3.0, 56, rr=0.7, runs=runs))
    out.append(Scenario("power", "randomized", 3.0, 168, rr=0.7, runs=runs))
    out.append(Scenario("power", "randomized", 3.0, 168, rr=0.7, block_days=7, runs=runs))
    return out


def _log_trend(kind: str | None, days: int) -> np.ndarray | None:
    t = np.arange(days)
    if kind == "falling":
        return np.linspace(0.0, math.log(0.5), days)
    if kind == "flare":
        return np.log1p(1.5 * np.exp(-t / 14.0))
    return None


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def one_run(s: Scenario, seed: int) -> tuple:
    """(fitted, est, lo, hi, p_primary, p_model, quasi_poisson, naive_p, naive_ratio, reports_effect)."""
    rng = np.random.default_rng(seed)
    plan = None
    if s.design == "randomized":
        plan, run_in = simulate.plan_for_days(s.days, s.block_days, s.dose, seed=seed)
        supp = simulate.plan_dosing(plan, run_in)
        start = plan.start - dt.timedelta(days=run_in)
    else:
        start = dt.date(2026, 1, 1)
        if s.design == "observational":
            supp = simulate.observational_dosing(s.days, s.dose, rng)
        else:
            supp = simulate.step_dosing(s.days, s.days // 2, s.dose)
    mu = simulate.rate(supp, s.base, s.rr, acute=s.acute, log_trend=_log_trend(s.trend, s.days), same_day=s.same_day)
    y = simulate.counts(mu, rng, alpha=s.alpha, phi=s.phi, latent_sd=s.latent_sd)
    diet = np.where(rng.random(s.days) < 0.7, rng.normal(300, 60, s.days), np.nan)
    dates = [start + dt.timedelta(days=i) for i in range(s.days)]
    daily = analysis.daily_frame(dates, y, supp_mg=supp, diet_mg=diet)
    try:
        r = analysis.analyze(daily, plan, lag_profile=False, seed=seed)
    except Exception:  # a crash is a finding: counted and shown, not hidden
        import traceback

        traceback.print_exc()
        return (False, math.nan, math.nan, math.nan, math.nan, math.nan, False, math.nan, math.nan, False, True)
    naive_p = naive_ratio = math.nan
    if s.design == "step":  # what a before/after comparison would say
        before, after = y[supp == 0], y[supp > 0]
        naive_ratio = after.mean() / max(before.mean(), 1e-9)  # Welch t-test on daily counts
        naive_p = float(stats.ttest_ind(after, before, equal_var=False).pvalue)
    if r.rate_ratio_per_100mg is None:
        return (False, math.nan, math.nan, math.nan, math.nan, math.nan, False, naive_p, naive_ratio, False, False)
    return (
        True,
        _log(r.rate_ratio_per_100mg),
        _log(r.ci_low),
        _log(r.ci_high),
        r.p_value,
        r.p_model,
        r.model == "quasi-Poisson",
        naive_p,
        naive_ratio,
        r.reports_effect,
        False,
    )


def _chunk(s: Scenario, seeds: list[int]) -> list[tuple]:
    return [one_run(s, seed) for seed in seeds]


@dataclass
class Row:
    scenario: Scenario
    fitted: int
    reject: float  # primary p < 0.05, among fitted
    reject_model: float
    reject_down: float  # p < 0.05 and RR < 1
    reported_down: float  # reports_effect and RR < 1: what the user is told (a benefit)
    reported: float  # reports_effect, any direction
    coverage: float
    median_rr: float
    quasi_poisson: float
    naive_reject_down: float
    errors: int

    @property
    def mcse(self) -> float:
        return math.sqrt(max(self.reject * (1 - self.reject), 1e-12) / max(self.fitted, 1))

    @property
    def bar(self) -> tuple[str, bool | None]:
        g = self.scenario.group
        if g in ("null", "trend"):
            v = self.reject if g == "null" else self.reported_down
            return "FPR ≤ 0.06", v <= 0.06
        if g == "effect":
            return "coverage ≥ 0.93", self.coverage >= 0.93
        s = self.scenario
        if (s.base, s.days, s.rr, s.block_days, s.dose, s.design, s.same_day, s.alpha, s.latent_sd) == BAR_POWER:
            return "power ≥ 0.75", self.reject >= 0.75
        return "", None


def summarize(s: Scenario, results: list[tuple]) -> Row:
    a = np.array(results, dtype=float)
    fit = a[:, 0] > 0
    f = a[fit]
    est, lo, hi, p, pm = f[:, 1], f[:, 2], f[:, 3], f[:, 4], f[:, 5]
    nf = max(int(fit.sum()), 1)
    naive = a[:, 7], a[:, 8]
    return Row(
        scenario=s,
        fitted=int(fit.sum()),
        reject=float((p < ALPHA).sum() / nf),
        reject_model=float((pm < ALPHA).sum() / nf),
        reject_down=float(((p < ALPHA) & (est < 0)).sum() / nf),
        reported_down=float(((f[:, 9] > 0) & (est < 0)).sum() / nf),
        reported=float((f[:, 9] > 0).sum() / nf),
        coverage=float(((lo <= s.truth) & (s.truth <= hi)).sum() / nf) if math.isfinite(s.truth) else math.nan,
        median_rr=float(np.exp(np.median(est))) if len(est) else math.nan,
        quasi_poisson=float(f[:, 6].mean()) if len(f) else math.nan,
        naive_reject_down=float(np.nanmean((naive[0] < ALPHA) & (naive[1] < 1))) if s.design == "step" else math.nan,
        errors=int(a[:, 10].sum()),
    )


def run_all(runs: int, workers: int, chunk: int = 50) -> list[Row]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    scns = scenarios(runs)
    jobs = []
    for i, s in enumerate(scns):
        seeds = [1_000_003 * (i + 1) + k for k in range(s.runs)]
        jobs += [(i, seeds[k : k + chunk]) for k in range(0, len(seeds), chunk)]
    results: dict[int, list] = {i: [] for i in range(len(scns))}
    total = sum(s.runs for s in scns)
    cols = (TextColumn("calibration"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols) as bar, ProcessPoolExecutor(workers) as pool:
        task = bar.add_task("runs", total=total)
        futs = {pool.submit(_chunk, scns[i], seeds): i for i, seeds in jobs}
        for fut in as_completed(futs):
            i = futs[fut]
            res = fut.result()
            results[i] += res
            bar.advance(task, len(res))
    return [summarize(s, results[i]) for i, s in enumerate(scns)]


# -- timing ---------------------------------------------------------------------------
def time_analysis(years: int = 5, events_per_day: float = 50.0, seed: int = 0, repeat: int = 3) -> dict:
    """Seconds for `daily_frame` + `analyze` (lag scan on) on `years` of daily data at `events_per_day`."""
    rng = np.random.default_rng(seed)
    days = int(round(365.25 * years))
    supp = simulate.observational_dosing(days, 200.0, rng, 0.05, 0.05)
    y = simulate.counts(simulate.rate(supp, events_per_day, 0.9), rng)
    tracked = rng.random(days) > 0.03
    diet = np.where(rng.random(days) < 0.6, rng.normal(300, 60, days), np.nan)
    dates = [dt.date(2021, 1, 1) + dt.timedelta(days=i) for i in range(days)]
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        daily = analysis.daily_frame(dates, y, tracked, supp, diet)
        r = analysis.analyze(daily)
        best = min(best, time.perf_counter() - t0)
    return {"days": days, "events": int(y[tracked].sum()), "seconds": best, "model": r.model, "bar_seconds": 2.0}


# -- output ---------------------------------------------------------------------------
def _f(x: float, nd: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


GROUP_TITLES = {
    "null": "Null scenarios (true RR = 1): false-positive rate of the reported p",
    "trend": "Symptoms falling by themselves, no true effect: "
    "supplement started once mid-series (step) or taken on and off (observational)",
    "effect": "Effect scenarios (true RR 0.70 per 100 mg/day, dose 200 mg): 95% CI coverage",
    "power": "Power: randomized on/off blocks, base 3/day, true RR 0.70 per 100 mg/day "
    "(p < 0.05 from the randomization test)",
}


def table_rows(rows: list[Row], group: str) -> tuple[list[str], list[list[str]]]:
    if group == "null":
        head = ["scenario", "runs fitted", "FPR (p < 0.05)", "± MCSE", "FPR (model p)", "effect reported"]
        head += ["quasi-Poisson", "bar"]
        body = [
            [r.scenario.name, str(r.fitted), _f(r.reject), _f(r.mcse), _f(r.reject_model), _f(r.reported)]
            + [_f(r.quasi_poisson, 2), _bar(r)]
            for r in rows
        ]
    elif group == "trend":
        head = ["scenario", "runs fitted", "benefit reported", "p < 0.05 and RR < 1", "any p < 0.05"]
        head += ["naive before/after benefit", "median RR", "bar"]
        body = [
            [r.scenario.name, str(r.fitted), _f(r.reported_down), _f(r.reject_down), _f(r.reject)]
            + [_f(r.naive_reject_down), _f(r.median_rr), _bar(r)]
            for r in rows
        ]
    else:
        head = ["scenario", "runs fitted", "CI coverage", "median RR (truth)", "power (reported p)", "power (model p)"]
        head += ["bar"]
        body = [
            [r.scenario.name, str(r.fitted), _f(r.coverage), f"{_f(r.median_rr)} ({_f(math.exp(r.scenario.truth))})"]
            + [_f(r.reject), _f(r.reject_model), _bar(r)]
            for r in rows
        ]
    return head, body


def _bar(r: Row) -> str:
    text, ok = r.bar
    out = "" if ok is None else f"{text}: {'met' if ok else 'MISSED'}"
    return out + (f" ({r.errors} runs crashed)" if r.errors else "")


def markdown(rows: list[Row], timing: dict | None, runs: int, seconds: float) -> str:
    out = [f"Calibration run: {runs} runs per scenario, {seconds:.0f} s wall time, "]
    out[0] += "`python tests/bench/calibration.py`."
    out.append("")
    for g in ("null", "trend", "effect", "power"):
        sel = [r for r in rows if r.scenario.group == g]
        if not sel:
            continue
        head, body = table_rows(sel, g)
        out += [f"**{GROUP_TITLES[g]}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(b) + " |" for b in body]
        out.append("")
    if timing:
        out.append(
            f"**Timing**: `daily_frame` + `analyze` (with lag scan) on {timing['days']} days "
            f"({timing['events']:,} events, ~50/day): {timing['seconds']:.2f} s "
            f"(bar < 2 s; best of 3; model {timing['model']})."
        )
        out.append("")
    return "\n".join(out)


def print_tables(rows: list[Row], timing: dict | None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=max(Console().width, 180))
    for g in ("null", "trend", "effect", "power"):
        sel = [r for r in rows if r.scenario.group == g]
        head, body = table_rows(sel, g)
        t = Table(title=GROUP_TITLES[g])
        for h in head:
            t.add_column(h)
        for b in body:
            t.add_row(*b)
        con.print(t)
    if timing:
        con.print(
            f"analysis of {timing['days']} days ({timing['events']:,} events): {timing['seconds']:.2f} s (bar < 2 s)"
        )


def update_docs(md: str, path: Path = DOCS) -> None:
    text = path.read_text()
    a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:a] + "\n" + md + "\n" + text[b:])


def main(argv: list[str] | None = None) -> list[Row]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1000, help="runs per scenario (>= 1000 for the published table)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path, help="write the markdown tables here")
    ap.add_argument("--update-docs", action="store_true", help="replace the table in docs/statistics.md")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = run_all(args.runs, args.workers)
    seconds = time.perf_counter() - t0
    timing = None if args.no_timing else time_analysis()
    print_tables(rows, timing)
    md = markdown(rows, timing, args.runs, seconds)
    if args.out:
        args.out.write_text(md)
    if args.update_docs:
        update_docs(md)
    return rows


if __name__ == "__main__":
    main()
