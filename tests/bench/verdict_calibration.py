"""ADEMP calibration of the verdict (issue 13, part 3): reliability, false "likely helps", reaching an answer.

Aims
  1. Reliability: among users told "P% chance of benefit", the share with a
     true benefit is P +- 5 points.
  2. False "likely helps" <= 5% under no effect, in every null and
     falling-trend scenario, including forgotten doses, unmarked days without
     the device, remission and a mistyped date.
  3. A true halving of events at the plan dose (3 events/day) reaches "likely
     helps" within 12 weeks in >= 80% of runs; for 30% and 20% reductions,
     the share at 12, 24 and 36 weeks.
  4. The stopping rule (`stats/stopping.py`): false "stop: likely helps"
     across all looks <= 5% under no effect, and the pairs it saves against
     the fixed 12-pair design, for several bars (the plan's is marked).

Data-generating mechanisms: `twitchlog.stats.simulate` as in calibration.py
(NB2 counts, alpha 0.3, AR(1) latent noise phi 0.6 sd 0.3; diet N(300, 60)
known on 70% of days), with the effect given as the true rate ratio at the
dose (`rr_at_dose`), acting through lags 0-3. Reliability draws each user's
true log rate ratio at 200 mg from Normal(0, 0.35^2) (the documented prior:
mostly small effects, some large, about one in nine within +-5% of none),
the base rate from {0.6, 3}/day and the design from {randomized 7-day
blocks, randomized 4-day blocks, self-chosen on/off}, 84 days. A
sensitivity population draws the truth from a mixture that does *not* match
the prior: 30% exactly none, 50% Cochrane-like small effects
Normal(-0.10, 0.10^2), 15% large benefits Normal(-0.6, 0.15^2), 5% small
harms Normal(0.15, 0.05^2).

Estimand: the verdict, P(benefit) and the true sign of the effect.
Methods: `analysis.analyze` as the report calls it (lag scan off).
Performance: reliability by decile of P(benefit) with its Monte Carlo SE;
shares of each verdict.

    python tests/bench/verdict_calibration.py [--runs 400] [--workers 2] [--out FILE.md] [--update-docs]
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "companion"))

from twitchlog.report.dataset import stray_days
from twitchlog.stats import analysis, effects, simulate
from twitchlog.stats.plan_defaults import DEFAULT_BLOCK_DAYS, DEFAULT_PAIRS
from twitchlog.stats.sequential import look
from twitchlog.stats.stopping import STOP_FUTILE, STOP_HELPS, StoppingRule
from twitchlog.stats.verdict import PRIOR_SD

DOCS = ROOT / "docs" / "statistics.md"
BEGIN, END = "<!-- verdict-calibration:begin -->", "<!-- verdict-calibration:end -->"
START = dt.date(2026, 1, 5)
DOSE = 200.0
BAR_FALSE_HELPS = 0.05
BAR_POWER = 0.80
BAR_RELIABILITY = 5.0  # points


@dataclass(frozen=True)
class Scenario:
    group: str  # "reliability", "null", "power"
    name: str
    design: str = "randomized"  # "randomized", "observational", "step"
    base: float = 3.0
    days: int = 84
    block_days: int = 7
    rr_at_dose: float = 1.0  # true rate ratio at DOSE
    trend: str | None = None  # "falling" (halves), "flare" (settles from 2.5x)
    forgotten: int = 0  # forgotten doses
    unworn: int = 0  # a run of unmarked days without the device (zero presses)
    remission_from: float | None = None  # share of the series after which symptoms stop
    stray: bool = False  # one event with a mistyped date (a year and a half earlier)
    truth: str | None = None  # reliability: "prior" or "mixture"
    sequential: bool = False  # look after every complete pair (the stopping rule)


def scenarios() -> list[Scenario]:
    S = Scenario
    out = [S("reliability", "truth ~ prior Normal(0, 0.35^2)", truth="prior")]
    out.append(S("reliability", "truth ~ Cochrane-like mixture (sensitivity)", truth="mixture"))
    for base in (0.6, 3.0):
        out += [
            S("null", f"randomized 7-day blocks, {base:g}/d, 84 d", base=base),
            S("null", f"randomized 4-day blocks, {base:g}/d, 84 d", base=base, block_days=4),
            S("null", f"self-chosen on/off, {base:g}/d, 84 d", design="observational", base=base),
            S("null", f"self-chosen on/off, {base:g}/d, 84 d, trend falling", "observational", base, trend="falling"),
            S("null", f"single start, {base:g}/d, 84 d, trend falling", design="step", base=base, trend="falling"),
            S("null", f"single start, {base:g}/d, 84 d, flare settling", design="step", base=base, trend="flare"),
        ]
    out += [
        S("null", "single start + 2 forgotten doses, 3/d, trend falling", "step", trend="falling", forgotten=2),
        S(
            "null",
            "self-chosen on/off + 4 forgotten doses, 3/d, trend falling",
            "observational",
            trend="falling",
            forgotten=4,
        ),
        S("null", "randomized 7-day, 3/d, 12 unmarked days without the device", unworn=12),
        S("null", "self-chosen on/off, 3/d, 12 unmarked days without the device", "observational", unworn=12),
        S("null", "randomized 7-day, 3/d, remission after day 50", remission_from=50 / 84),
        S("null", "randomized 7-day blocks, 3/d, 84 d, trend falling", trend="falling"),
        S("null", "randomized 7-day blocks, 3/d, 84 d, flare settling", trend="flare"),
        S("null", "randomized 7-day, 3/d, one mistyped date", stray=True),
    ]
    for weeks in (12, 24):
        for block in (7, 4):
            out.append(
                S(
                    "power",
                    f"50% fewer, {block}-day blocks, {weeks} weeks",
                    days=7 * weeks,
                    block_days=block,
                    rr_at_dose=0.5,
                )
            )
    for reduction in (0.3, 0.2):
        for weeks in (12, 24, 36):
            out.append(
                S(
                    "power",
                    f"{reduction:.0%} fewer, 7-day blocks, {weeks} weeks",
                    days=7 * weeks,
                    rr_at_dose=1 - reduction,
                )
            )
    weeks = DEFAULT_PAIRS * 2 * DEFAULT_BLOCK_DAYS // 7
    for base in (3.0, 0.6):
        out.append(S("sequential", f"no effect, {base:g}/d", base=base, days=7 * weeks, sequential=True))
    out.append(S("sequential", "no effect, 3/d, trend falling", days=7 * weeks, trend="falling", sequential=True))
    for rr in (0.5, 0.7, 0.8):
        out.append(S("sequential", f"{1 - rr:.0%} fewer, 3/d", days=7 * weeks, rr_at_dose=rr, sequential=True))
    return out


#: Candidate (stop_benefit, stop_futility) bars; the plan's rule is StoppingRule()'s.
SEQUENTIAL_BARS = ((0.95, 0.05), (0.975, 0.05), (0.99, 0.05), (0.995, 0.05), (0.995, 0.02), (0.995, 0.01))


def sequential_run(s: Scenario, seed: int) -> tuple[str, list[tuple[float | None, float | None]], float]:
    """The default plan (DEFAULT_PAIRS pairs of DEFAULT_BLOCK_DAYS-day blocks) looked at after every pair:
    ("sequential", [(P(benefit), P(meaningful)) per look from min_pairs on], true log rate ratio)."""
    rng = np.random.default_rng(seed)
    theta = math.log(s.rr_at_dose)
    plan = simulate.trial.make_plan(START, DEFAULT_PAIRS, DEFAULT_BLOCK_DAYS, DOSE, "glycinate", seed)
    supp = simulate.plan_dosing(plan, 0)
    trend = np.linspace(0.0, math.log(0.5), plan.days) if s.trend == "falling" else None
    rr100 = math.exp(theta / float(effects.units(DOSE)))
    y = simulate.counts(simulate.rate(supp, s.base, rr100, log_trend=trend), rng)
    diet = np.where(rng.random(plan.days) < 0.7, rng.normal(300, 60, plan.days), np.nan)
    daily = analysis.daily_frame(
        [START + dt.timedelta(days=i) for i in range(plan.days)], y, supp_mg=supp, diet_mg=list(diet)
    )
    rule = StoppingRule()
    looks = []
    for pairs in range(rule.min_pairs, plan.pairs + 1):
        lk = look(plan, daily, pairs, rule)
        looks.append((lk.probability_of_benefit, lk.probability_of_meaningful_benefit))
    return "sequential", looks, theta


def _true_log_rr(s: Scenario, rng: np.random.Generator) -> float:
    if s.truth == "prior":
        return float(rng.normal(0.0, PRIOR_SD))
    if s.truth == "mixture":
        u = rng.random()
        if u < 0.30:
            return 0.0
        if u < 0.80:
            return float(rng.normal(-0.10, 0.10))
        if u < 0.95:
            return float(rng.normal(-0.6, 0.15))
        return float(rng.normal(0.15, 0.05))
    return math.log(s.rr_at_dose)


def one_run(s: Scenario, seed: int) -> tuple[str, float | None, float]:
    """(verdict, P(benefit) or None, true log rate ratio at the dose)."""
    rng = np.random.default_rng(seed)
    theta = _true_log_rr(s, rng)
    base, design, block = s.base, s.design, s.block_days
    if s.truth is not None:  # a population of users
        base = float(rng.choice([0.6, 3.0]))
        design, block = [("randomized", 7), ("randomized", 4), ("observational", 7)][int(rng.integers(3))]
    plan = None
    if design == "randomized":
        plan, run_in = simulate.plan_for_days(s.days, block, DOSE, seed=seed, start=START)
        supp = simulate.plan_dosing(plan, run_in)
    elif design == "observational":
        supp = simulate.observational_dosing(s.days, DOSE, rng)
    else:
        supp = simulate.step_dosing(s.days, s.days // 2, DOSE)
    taken = supp.copy()
    if s.forgotten:
        on = np.flatnonzero(taken > 0)
        taken[rng.choice(on, size=min(s.forgotten, len(on)), replace=False)] = 0.0
    rr100 = math.exp(theta / float(effects.units(DOSE)))
    trend = None
    t = np.arange(s.days)
    if s.trend == "falling":
        trend = np.linspace(0.0, math.log(0.5), s.days)
    elif s.trend == "flare":
        trend = np.log1p(1.5 * np.exp(-t / 14.0))
    y = simulate.counts(simulate.rate(taken, base, rr100, log_trend=trend), rng)
    if s.unworn:
        first = int(rng.integers(7, s.days - s.unworn - 7))
        y[first : first + s.unworn] = 0
    if s.remission_from is not None:
        y[int(s.remission_from * s.days) :] = 0
    diet = np.where(rng.random(s.days) < 0.7, rng.normal(300, 60, s.days), np.nan)
    dates = [START + dt.timedelta(days=i) for i in range(s.days)]
    if s.stray:
        # One event typed a year and a half too early. The dataset keeps it out of the window (stray_days);
        # without that, the window would start 540 days earlier with empty "tracked" days.
        event_days = [d for d, n in zip(dates, y, strict=True) for _ in range(int(n))]
        stray = stray_days([*event_days, START - dt.timedelta(days=540)])
        assert stray == {START - dt.timedelta(days=540)}, stray
    daily = analysis.daily_frame(dates, y, supp_mg=taken, diet_mg=list(diet))
    r = analysis.analyze(daily, plan, lag_profile=False, n_rerandomizations=199, seed=seed)
    return r.verdict.verdict, r.verdict.probability_of_benefit, theta


def _chunk(args: tuple[Scenario, list[int]]) -> list[tuple]:
    s, seeds = args
    return [(sequential_run if s.sequential else one_run)(s, seed) for seed in seeds]


def run_all(runs: int, workers: int, chunk: int = 25, groups: set[str] | None = None) -> dict[Scenario, list[tuple]]:
    jobs = []
    for s in scenarios():
        if groups and s.group not in groups:
            continue
        n = runs * (5 if s.truth == "prior" else 2 if s.truth else 1)
        if s.sequential:
            n = max(runs // 2, 10)  # a trial is 10 analyses
        seeds = list(range(1_000_000 + 10_000 * len(jobs), 1_000_000 + 10_000 * len(jobs) + n))
        jobs += [(s, seeds[i : i + chunk]) for i in range(0, n, chunk)]
    out: dict[Scenario, list[tuple]] = {}
    with ProcessPoolExecutor(workers) as pool:
        for (s, _), res in zip(jobs, pool.map(_chunk, jobs), strict=True):
            out.setdefault(s, []).extend(res)
    return out


# -- tables ------------------------------------------------------------------------------------
def reliability_rows(results: list[tuple]) -> list[list[str]]:
    rows = []
    probs = np.array([p for _, p, _ in results if p is not None])
    truth = np.array([th < 0 for _, p, th in results if p is not None])
    edges = np.linspace(0, 1, 11)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        n = int(inside.sum())
        if n == 0:
            rows.append([f"{lo:.0%}-{hi:.0%}", "0", "-", "-", "-", ""])
            continue
        told = 100 * probs[inside].mean()
        share = 100 * truth[inside].mean()
        mcse = 100 * math.sqrt(max(share / 100 * (1 - share / 100), 1e-4) / n)
        gap = abs(share - told)
        verdict = "met" if gap <= BAR_RELIABILITY else "MISSED" if gap - 2 * mcse > BAR_RELIABILITY else "missed?"
        rows.append(
            [
                f"{lo:.0%}-{hi:.0%}",
                str(n),
                f"{told:.1f}",
                f"{share:.1f} +- {mcse:.1f}",
                f"{share - told:+.1f}",
                verdict,
            ]
        )
    return rows


def _share(results: list[tuple], verdict: str) -> float:
    return sum(v == verdict for v, _, _ in results) / len(results)


def markdown(out: dict[Scenario, list[tuple]], runs: int, seconds: float) -> str:
    lines = [
        f"Generated by `python tests/bench/verdict_calibration.py --runs {runs}` in {seconds / 60:.1f} min "
        f"({os.cpu_count()} cores).",
        "",
    ]
    for s, res in out.items():
        if s.group != "reliability":
            continue
        with_p = sum(p is not None for _, p, _ in res)
        lines += [
            f"**Reliability, {s.name}** ({len(res)} simulated users, {with_p} with a probability; the rest "
            "'not enough data' or 'cannot estimate')",
            "",
            "| told P(benefit) | users | mean P told (%) | true benefit (%) +- MCSE | difference "
            "| bar (+-5 points; 'missed?': within 2 MCSE of it) |",
            "|---|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(r) + " |" for r in reliability_rows(res)]
        counts = {
            v: _share(res, v)
            for v in (
                "likely_helps",
                "likely_no_meaningful_effect",
                "inconclusive",
                "not_enough_data",
                "cannot_estimate",
            )
        }
        helps = [th for v, _, th in res if v == "likely_helps"]
        wrong = sum(th >= 0 for th in helps) / len(helps) if helps else math.nan
        lines += [
            "",
            "Verdicts: "
            + ", ".join(f"{k.replace('_', ' ')} {v:.1%}" for k, v in counts.items())
            + f". Among 'likely helps', share without a true benefit: {wrong:.1%}.",
            "",
        ]
    lines += [
        "**False 'likely helps' under no effect (null and falling-trend scenarios)**",
        "",
        "| scenario | runs | likely helps | likely no meaningful effect | inconclusive | not enough data "
        "| cannot estimate | bar (<= 5%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, res in out.items():
        if s.group != "null":
            continue
        helps = _share(res, "likely_helps")
        mcse = math.sqrt(max(helps * (1 - helps), 1e-4) / len(res))
        bar = "met" if helps <= BAR_FALSE_HELPS else "MISSED"
        lines.append(
            f"| {s.name} | {len(res)} | {helps:.3f} +- {mcse:.3f} | {_share(res, 'likely_no_meaningful_effect'):.3f} "
            f"| {_share(res, 'inconclusive'):.3f} | {_share(res, 'not_enough_data'):.3f} "
            f"| {_share(res, 'cannot_estimate'):.3f} | {bar} |"
        )
    lines += [
        "",
        f"**Reaching an answer: randomized plan, {DOSE:g} mg, 3 events/day, share of runs told 'likely helps'**",
        "",
        "| scenario | runs | likely helps | inconclusive | likely no meaningful effect | not enough data | bar |",
        "|---|---|---|---|---|---|---|",
    ]
    for s, res in out.items():
        if s.group != "power":
            continue
        helps = _share(res, "likely_helps")
        bar = ""
        if s.rr_at_dose == 0.5 and s.days == 84:
            bar = f">= {BAR_POWER:.0%}: " + ("met" if helps >= BAR_POWER else "MISSED")
        lines.append(
            f"| {s.name} | {len(res)} | {helps:.3f} | {_share(res, 'inconclusive'):.3f} "
            f"| {_share(res, 'likely_no_meaningful_effect'):.3f} | {_share(res, 'not_enough_data'):.3f} | {bar} |"
        )
    seq = [(s, res) for s, res in out.items() if s.group == "sequential"]
    if seq:
        rule = StoppingRule()
        lines += [
            "",
            f"**Stopping rule: the default plan ({DEFAULT_PAIRS} pairs of {DEFAULT_BLOCK_DAYS}-day blocks, "
            f"{DOSE:g} mg) looked at after every complete pair from pair {rule.min_pairs}**",
            "",
            "| scenario | runs | bars: stop for benefit / futility | stopped: likely helps | stopped: unlikely to help "
            "| mean pairs used (of " + str(DEFAULT_PAIRS) + ") | fixed design, final look: likely helps |",
            "|---|---|---|---|---|---|---|",
        ]
        for s, res in seq:
            final = sum((lk[-1][0] or 0) >= 0.95 for _, lk, _ in res) / len(res)
            for bar, futility in SEQUENTIAL_BARS:
                r = StoppingRule(stop_benefit=bar, stop_futility=futility, min_pairs=rule.min_pairs)
                helps = futile = 0
                pairs_used = []
                for _, looks, _ in res:
                    used = DEFAULT_PAIRS
                    for i, (pb, pm) in enumerate(looks):
                        d = r.decide(rule.min_pairs + i, pb, pm)
                        if d != "continue":
                            helps += d == STOP_HELPS
                            futile += d == STOP_FUTILE
                            used = rule.min_pairs + i
                            break
                    pairs_used.append(used)
                mark = " (the plan's rule)" if (bar, futility) == (rule.stop_benefit, rule.stop_futility) else ""
                lines.append(
                    f"| {s.name} | {len(res)} | {bar:g} / {futility:g}{mark} | {helps / len(res):.3f} "
                    f"| {futile / len(res):.3f} "
                    f"| {np.mean(pairs_used):.1f} | {final:.3f} |"
                )
    return "\n".join(lines) + "\n"


def update_docs(md: str, path: Path = DOCS) -> None:
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + BEGIN + "\n" + md + END + tail)


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=400, help="runs per scenario (reliability: 5x and 2x)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path, help="write the markdown tables here")
    ap.add_argument("--update-docs", action="store_true", help="replace the tables in docs/statistics.md")
    ap.add_argument("--only", nargs="*", help="only these groups: reliability, null, power, sequential")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    out = run_all(args.runs, args.workers, groups=set(args.only) if args.only else None)
    md = markdown(out, args.runs, time.perf_counter() - t0)
    print(md)
    if args.out:
        args.out.write_text(md)
    if args.update_docs:
        update_docs(md)
    return md


if __name__ == "__main__":
    main()
