"""What the analysis can and cannot say yet: sufficiency checks and the wording of the result."""

from __future__ import annotations

import math

import numpy as np

from twitchlog.stats.result import Result, Sufficiency

MIN_DAYS = 28  # tracked days before an estimate is worth reading
MIN_FIT_DAYS = 14  # below this, no model at all
MIN_EVENTS = 20
MIN_ON_DAYS = 7
MIN_OFF_DAYS = 7
MIN_SWITCHES = 4  # observational: on/off changes; one start and no stop is a before/after comparison
MIN_PAIRS = 5  # 2**5 = 32 assignments: the smallest p a randomization test can give is 1/32
TARGET_RR = 0.70  # the effect the precision message is sized for
PLACEBO_FALL = 0.28  # placebo-arm fall in magnesium-for-cramps trials


MIN_DELIBERATE_RUN = 3  # on or off stretches shorter than this, between two others, are lapses


def deliberate_switches(on: np.ndarray) -> tuple[int, int]:
    """(deliberate on/off changes, lapses) in a daily on/off series.

    A stretch of 1-2 days between two stretches of the other state (a
    forgotten dose, a one-off extra dose) is a lapse, not two switches: two
    forgotten doses turned one start-and-continue into five changes in the
    issue's reproduction, which defeated the before/after guard.
    """
    on = np.asarray(on, dtype=bool)
    if len(on) == 0:
        return 0, 0
    edges = np.flatnonzero(on[1:] != on[:-1]) + 1
    starts = np.concatenate([[0], edges])
    runs = [int(n) for n in np.diff(np.concatenate([starts, [len(on)]]))]  # alternating on/off run lengths
    lapses = 0
    # Shortest interior stretch first: merge it and its two neighbours into one, until none is short.
    while len(runs) > 2:
        i = min(range(1, len(runs) - 1), key=lambda j: runs[j])
        if runs[i] >= MIN_DELIBERATE_RUN:
            break
        runs[i - 1 : i + 2] = [runs[i - 1] + runs[i] + runs[i + 1]]
        lapses += 1
    return len(runs) - 1, lapses


def check(n_used, events, on_days, off_days, plan, adh, switches) -> list[Sufficiency]:
    out = []
    if n_used < MIN_DAYS:
        msg = f"{n_used} tracked days; at least {MIN_DAYS} are needed ({MIN_DAYS - n_used} more)."
        out.append(Sufficiency("days", n_used, MIN_DAYS, msg, True))
    if events < MIN_EVENTS:
        per_day = events / n_used if n_used else 0.0
        more = MIN_EVENTS - events
        eta = f", about {math.ceil(more / per_day)} more tracked days at your rate" if per_day > 0 else ""
        msg = f"{events} events logged; at least {MIN_EVENTS} are needed ({more} more{eta})."
        out.append(Sufficiency("events", events, MIN_EVENTS, msg, True))
    if on_days < MIN_ON_DAYS or off_days < MIN_OFF_DAYS:
        out.append(
            Sufficiency(
                "dose contrast",
                min(on_days, off_days),
                MIN_ON_DAYS,
                f"{on_days} tracked days with supplement and {off_days} without; "
                f"at least {MIN_ON_DAYS} of each are needed "
                "to compare (a randomized plan gives both: `twitchlog trial plan`).",
                True,
            )
        )
    if plan is None and switches < MIN_SWITCHES:
        out.append(
            Sufficiency(
                "dose changes",
                switches,
                MIN_SWITCHES,
                f"The supplement was started or stopped only {switches} time(s): that is a before/after comparison, "
                "which cannot tell magnesium from whatever else changed at the same time (in cramp trials the placebo "
                f"arm fell about {PLACEBO_FALL:.0%} by itself). At least {MIN_SWITCHES} on/off changes are needed; "
                "a randomized plan (`twitchlog trial plan`) provides them.",
                True,
            )
        )
    # Precision: events for an 80% chance to detect a 30% reduction with half the days on (Poisson floor).
    need = math.ceil(4 * (1.959964 + 0.841621) ** 2 / math.log(TARGET_RR) ** 2)
    if events < need:
        per_day = events / n_used if n_used else 0.0
        eta = ""
        if per_day > 0:
            eta = f" (about {math.ceil((need - events) / per_day)} more tracked days at your current {per_day:.1f}/day)"
        out.append(
            Sufficiency(
                "precision",
                events,
                need,
                f"With {events} events only a large effect can be told from chance: about {need} events, "
                f"half of the days on supplement, are needed for an 80% chance of detecting a 30% reduction{eta}; "
                "more if counts vary a lot.",
                False,
            )
        )
    if plan is not None:
        pairs_done = sum(
            1 for i in range(plan.pairs) if all(b.status == "complete" for b in adh.blocks[2 * i : 2 * i + 2])
        )
        if pairs_done < MIN_PAIRS:
            out.append(
                Sufficiency(
                    "randomization",
                    pairs_done,
                    MIN_PAIRS,
                    f"{pairs_done} of {plan.pairs} planned pairs complete; "
                    f"a randomization test over {pairs_done} pairs "
                    f"cannot give p below {1 / 2**pairs_done:.3g}. At least {MIN_PAIRS} complete pairs are needed "
                    f"for p < 0.05 to be possible ({MIN_PAIRS - pairs_done} more).",
                    True,
                )
            )
    return out


def wording(r: Result) -> str:
    blocking = " ".join(s.message for s in r.sufficiency if s.blocking)
    if r.rate_ratio_per_100mg is None:
        if not blocking:
            return "No estimate: the count model could not be fitted to these counts (see the data-quality notes)."
        return "Not enough data yet for an estimate. " + blocking
    excludes_one = r.ci_high is not None and r.ci_low is not None and (r.ci_high < 1 or r.ci_low > 1)
    pct = (1 - r.rate_ratio_per_100mg) * 100
    direction = f"{abs(pct):.0f}% {'fewer' if pct >= 0 else 'more'}"
    head = (
        f"Rate ratio {r.rate_ratio_per_100mg:.2f} per 100 mg/day of supplemental magnesium "
        f"(95% CI {r.ci_low:.2f} to {r.ci_high:.2f}; p = {r.p_value:.3g}, {r.p_method})."
    )
    if r.reports_effect:
        claim = (
            f" About {direction} symptom events at 100 mg/day than with none, taken over the last four days "
            "(at other doses the ratio is RR ** log2(1 + mg/100))."
        )
    elif r.sufficient and excludes_one:
        claim = (
            " The interval excludes no effect but the p-value does not reach 0.05: they answer different questions "
            "(see the methods), so no effect is claimed on this test alone."
        )
    elif r.sufficient:
        claim = " This is compatible with no effect: chance alone could produce a difference this large."
    else:
        claim = " No effect can be claimed yet. " + blocking
    if r.randomized:
        design = (
            " Design: randomized on/off self-trial; the p-value comes from re-randomizing the stored plan, so it "
            "does not depend on the model being right. It is open label, so expectation can still play a part."
        )
    else:
        design = (
            " Design: observational. You chose when to take magnesium, so anything that changed at the same time "
            f"(a flare settling, season, sleep, stress) can look like an effect. In cramp trials the placebo arm fell "
            f"about {PLACEBO_FALL:.0%} by itself; a before/after comparison would credit that fall to magnesium. "
            "A randomized plan (`twitchlog trial plan`) answers the question properly."
        )
    return head + claim + design
