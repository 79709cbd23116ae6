"""The report: analyse the store (all kinds combined, then each kind) and write one self-contained HTML file.

rep = report.build(store)            # dataset.build + analysis.analyze per kind + the current plan
report.write(rep, path)              # HTML with inline CSS and inline SVG charts; no network
report.summary(rep)                  # the key figures as one JSON-ready dict (`report --json`)
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

from twitchlog import __version__
from twitchlog.errors import UserError
from twitchlog.kinds import kind_plural
from twitchlog.report import charts as report_charts
from twitchlog.report import dataset
from twitchlog.report.trial_status import current_plan
from twitchlog.stats import analysis, trial, wear
from twitchlog.stats.result import Result
from twitchlog.stats.sufficiency import PLACEBO_FALL, wording
from twitchlog.stats.verdict import MEANINGFUL_THRESHOLD as MEANINGFUL
from twitchlog.stats.verdict import chance_words
from twitchlog.store.db import Store

COMBINED = "all kinds"
# The steady-state (acute + 14-day build-up) ratio is shown only when its CI ends are at most this far apart:
# short on/off blocks barely move the 14-day mean, and a CI like 0.20-18.4 reads as a finding when it is none.
STEADY_STATE_MAX_CI_RATIO = 4.0
SECTIONS = ("summary", "effect", "timeline", "lags", "hours", "kinds", "quality", "methods")


@dataclass
class Report:
    data: dataset.Dataset
    plan: trial.Plan | None
    results: dict[str, Result]  # COMBINED first (when more than one kind), then each kind
    unworn: list[wear.ZeroRun] = field(default_factory=list)  # likely days without the device
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())

    @property
    def main(self) -> Result:
        return next(iter(self.results.values()))

    @property
    def main_name(self) -> str:
        return next(iter(self.results))


def build(
    store: Store,
    *,
    kinds: Iterable[int] | None = None,
    tz: tzinfo | None = None,
    now: float | None = None,
    n_rerandomizations: int = 1999,
) -> Report:
    """Analyse every kind (or `kinds`, codes) combined and one by one; UserError when there is nothing yet."""
    try:
        data = dataset.build(store, kinds=kinds, tz=tz, now=now)
    except ValueError as e:
        raise UserError(f"{e}: sync the device or add events (`twitchlog events add`) first") from None
    plan = current_plan(store)
    names = ([COMBINED] if len(data.kinds) > 1 else []) + data.kinds
    results = {}
    for name in names:
        daily = data.daily(None if name == COMBINED else name)
        results[name] = analysis.analyze(daily, plan, n_rerandomizations=n_rerandomizations, what=kind_plural(name))
    _correct_per_kind(results, main=names[0])
    return Report(data, plan, results, unworn=wear.likely_unworn(data.daily(None)))


def _correct_per_kind(results: dict[str, Result], main: str) -> None:
    """Per-kind results are several tests: only a Holm-adjusted p below 0.05 may claim an effect there."""
    from statsmodels.stats.multitest import multipletests

    kinds = [name for name, r in results.items() if name != main and r.p_value is not None]
    if len(kinds) < 2:
        return
    adjusted = multipletests([results[k].p_value for k in kinds], method="holm")[1]
    for name, p_holm in zip(kinds, adjusted, strict=True):
        r = results[name]
        r.notes.append(f"One of {len(kinds)} per-kind analyses: Holm-adjusted p = {p_holm:.3g}.")
        if r.reports_effect and p_holm >= 0.05:
            r.reports_effect = False
            r.wording = wording(r) + (
                f" (Exploratory: across {len(kinds)} symptom kinds the Holm-adjusted p is {p_holm:.3g}, so no effect "
                "is claimed for this kind alone.)"
            )


# -- key figures ---------------------------------------------------------------------
def _figures(r: Result) -> dict:
    d = r.to_dict()
    keys = (
        "rate_ratio_per_100mg",
        "ci_low",
        "ci_high",
        "p_value",
        "p_method",
        "days_used",
        "randomized",
        "design",
        "model",
        "events",
        "sufficient",
        "reports_effect",
        "wording",
    )
    out = {k: d[k] for k in keys}
    out["estimand"] = d["estimand"]
    out["exposure"] = "log2(1 + mg/100): the rate ratio at dose d mg/day is RR ** log2(1 + d/100)"
    out["rr_at_dose"] = d.get("rr_at_dose")
    out["sufficiency"] = [s["message"] for s in d["sufficiency"]]
    for key in VERDICT_KEYS:
        out[key] = d[key]
    return out


VERDICT_KEYS = (
    "verdict",
    "headline",
    "verdict_reason",
    "probability_of_benefit",
    "probability_of_meaningful_benefit",
    "meaningful_threshold",
    "percent_change",
    "percent_change_low",
    "percent_change_high",
    "credible_level",
    "verdict_dose_mg",
    "prior",
)


def summary(rep: Report, path: Path | None = None) -> dict:
    """`report --json`: the main (combined) result's key figures, then each kind's."""
    out = {"kind": rep.main_name, **_figures(rep.main)}
    out["first_day"], out["last_day"] = rep.data.first.isoformat(), rep.data.last.isoformat()
    out["plan"] = rep.plan.to_dict() if rep.plan else None
    out["likely_unworn"] = [r.to_dict() for r in rep.unworn]
    out["per_kind"] = {name: _figures(r) for name, r in rep.results.items() if name != rep.main_name}
    if path is not None:
        out["report"] = str(path)
    return out


# -- HTML -------------------------------------------------------------------------------
CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:1100px;margin:2em auto;
padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
.meta{color:#666}.headline{font-size:1.15em;background:#f6f8fa;border-left:4px solid #3a5a99;padding:.8em 1em}
.warn{border-left-color:#e76f51}table{border-collapse:collapse;margin:.8em 0}
td,th{border-bottom:1px solid #e5e5e5;padding:.25em .7em;text-align:left}th{background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums}figure{margin:1em 0}svg.chart{max-width:100%;height:auto}
li{margin:.2em 0}.small{font-size:.9em;color:#555}
"""


def _e(x: object) -> str:
    return html.escape(str(x))


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "&ndash;" if x is None else fmt.format(x)


def _p(x: float | None) -> str:
    return "&ndash;" if x is None or x != x else f"{x:.3g}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{_e(title)}</h2>\n{body}\n</section>\n'


def _figure(svg: str, caption: str) -> str:
    return f'<figure class="chart">{svg}<figcaption class="small">{_e(caption)}</figcaption></figure>'


def _summary_section(rep: Report) -> str:
    """The verdict first (one per kind), the likely days without the device, then the details in numbers."""
    m, d = rep.main, rep.data
    sure = m.verdict.verdict in ("likely_helps", "likely_no_meaningful_effect")
    parts = [f"<p class='headline{'' if sure else ' warn'}' id='verdict'>{_e(m.headline)}</p>"]
    others = [(name, r) for name, r in rep.results.items() if name != rep.main_name]
    if others:
        parts.append("<ul>" + "".join(f"<li><b>{_e(name)}</b>: {_e(r.headline)}</li>" for name, r in others) + "</ul>")
    if rep.unworn:
        parts.append(f"<p class='headline warn'>{_e(wear.hint(rep.unworn))}</p>")
    if m.posterior is not None and m.verdict.verdict not in ("not_enough_data", "cannot_estimate"):
        parts.append(
            _figure(
                report_charts.posterior_bars(m.posterior, m.what, m.verdict.dose_mg),
                "The chance of each size of effect, from the posterior (sceptical prior and your data). Green: "
                "fewer events on magnesium; grey: more.",
            )
        )
    parts.append(f"<p class='small'>Details: {_e(m.wording)}</p>")
    parts.append(f"<p class='meta'>Design: {_e(m.design)}. Kinds: {_e(', '.join(d.kinds))}.</p>")
    return "".join(parts)


def _pct(x: float | None) -> str:
    return "&ndash;" if x is None else f"{x:+.0f}%"


def _verdict_table(rep: Report) -> str:
    rows = []
    for name, r in rep.results.items():
        v = r.verdict
        rows.append(
            [
                _e(name),
                _e(v.verdict.replace("_", " ")),
                "&ndash;" if v.probability_of_benefit is None else _e(chance_words(v.probability_of_benefit)),
                "&ndash;"
                if v.probability_of_meaningful_benefit is None
                else _e(chance_words(v.probability_of_meaningful_benefit)),
                f"{_pct(v.percent_change)} ({_pct(v.percent_change_low)} to {_pct(v.percent_change_high)})",
                _num(v.dose_mg, "{:g} mg"),
            ]
        )
    head = [
        "kind",
        "verdict",
        "chance of benefit",
        f"chance of &ge; {MEANINGFUL:.0%} fewer",
        "change in events (90% interval)",
        "at dose",
    ]
    return (
        _table(head, rows)
        + f"<p class='small'>From a posterior over the effect at the dose: {_e(rep.main.verdict.prior)}; the "
        "likelihood is the count model's estimate with its autocorrelation-robust standard error (Student-t).</p>"
    )


def _effect_section(rep: Report) -> str:
    rows = []
    for name, r in rep.results.items():
        rows.append(
            [
                _e(name),
                _num(r.rate_ratio_per_100mg),
                f"{_num(r.ci_low)} &ndash; {_num(r.ci_high)}",
                _p(r.p_value),
                _e(r.p_method or ""),
                str(r.days_used),
                str(r.events),
                _e(r.model or "none"),
            ]
        )
    head = ["kind", "rate ratio / 100 mg", "95% CI", "p", "p-value method", "days used", "events", "model"]
    table = _table(head, rows)
    chart = report_charts.forest(report_charts.effect_rows(rep.results), "Effect per 100 mg/day, lags 0-3 combined")
    extra = []
    m = rep.main
    if m.rr_at_dose:
        a = m.rr_at_dose
        extra.append(
            f"At {a['dose_mg']:g} mg/day: rate ratio {_num(a['rate_ratio'])} "
            f"(95% CI {_num(a['ci_low'])} &ndash; {_num(a['ci_high'])})."
        )
    s = m.steady_state
    if s and s["ci_low"] and s["ci_high"] and (s["ci_high"] / s["ci_low"] <= STEADY_STATE_MAX_CI_RATIO):
        extra.append(
            f"Taken daily for two weeks or more (lags 0-3 plus the 14-day build-up): rate ratio "
            f"{_num(s['rate_ratio'])} per 100 mg/day "
            f"(95% CI {_num(s['ci_low'])} &ndash; {_num(s['ci_high'])})."
        )
    extra.append(f"Estimand: {_e(m.estimand)}.")
    return (
        _verdict_table(rep)
        + "<h3>Details: the count model</h3>"
        + _figure(chart, "Squares: rate ratio; lines: 95% CI; dashed line: no effect.")
        + table
        + "".join(f"<p class='small'>{x}</p>" for x in extra)
    )


def _lags_section(r: Result) -> str:
    if not r.lag_profile:
        return "<p>No lag profile: the model was not fitted (see the data-quality notes).</p>"
    rows = [
        [
            _e(t.term),
            _num(t.rate_ratio),
            f"{_num(t.ci_low)} &ndash; {_num(t.ci_high)}",
            _p(t.p),
            _p(t.p_holm),
            _p(t.p_bh),
        ]
        for t in r.lag_profile
    ]
    return (
        _figure(report_charts.lag_profile(r.lag_profile), "Each lag term fitted on its own, same covariates.")
        + _table(["term", "rate ratio / 100 mg", "95% CI", "p (uncorrected)", "p (Holm)", "p (BH)"], rows)
        + "<p class='small'>Five terms are scanned, so read the Holm-corrected p-values; the main estimate above "
        "is the pre-specified combined lags 0-3 term, not the best of the scan.</p>"
    )


def _quality_section(rep: Report) -> str:
    d, m = rep.data, rep.main
    items = [
        f"Days {d.first} to {d.last}: {d.days} in all, {d.days - d.untracked_days} tracked.",
        f"Untracked days: {d.untracked_days} ({d.gap_days} overlapped by a tracking gap, {d.lead_in_days} before the "
        "first event that only supply intake for the build-up term). A day with no presses counts as a day without "
        "symptoms only when it was tracked.",
        f"Events with an unknown time (not in the counts): {d.unknown_time}; with an estimated time "
        f"(extrapolated or back-dated device clock): {d.estimated_time}.",
        f"Days whose supplement amount was estimated from compound weight: {int(d.intake['supp_estimated'].sum())}; "
        f"days with no dietary magnesium data: {int(d.intake['diet_mg'].isna().sum())}.",
    ]
    if rep.unworn:
        items.append(wear.hint(rep.unworn))
    items += d.notes + list(m.notes)
    if m.adherence:
        a = m.adherence
        items.append(
            f"Plan adherence: {_num(a['overall'], '{:.0%}')} of {a['days_elapsed']} plan days "
            f"({a['on_adherent']}/{a['on_days']} on days, {a['off_adherent']}/{a['off_days']} off days)."
        )
    suff = (
        "".join(
            f"<li><b>{_e(s.what)}</b>: {_e(s.message)}{' (blocking)' if s.blocking else ''}</li>" for s in m.sufficiency
        )
        or "<li>Enough data for the verdict above.</li>"
    )
    return (
        "<ul>"
        + "".join(f"<li>{_e(i)}</li>" for i in items)
        + "</ul><h3>Is there enough data?</h3><ul>"
        + suff
        + "</ul>"
    )


def _methods_section(rep: Report) -> str:
    m = rep.main
    if rep.plan is not None and m.randomized:
        items = list(trial.methods_text(rep.plan))
    else:
        items = [
            "Design: observational. No randomized plan "
            + ("covers these days" if rep.plan else "was stored")
            + "; you chose when to take magnesium, so the estimate is an association, not a tested effect."
        ]
        if rep.plan is not None:
            items += ["Stored plan (not analysed as randomized): " + trial.methods_text(rep.plan)[0]]
    items += [
        "Participant (CENT 13-15): one person, the user of this device; days and events as in the data-quality "
        "section, analysed as logged (no day excluded for any reason but tracking).",
        f"Statistical model (CENT 12): {m.model or 'none fitted'}; daily counts against supplemental elemental "
        "magnesium as log2(1 + mg/100) (absorption saturates), lags 0-3 combined plus a 14-day mean, adjusted for "
        "trend, day of week and dietary magnesium.",
        f"Standard errors: {m.se_method or 'not computed'}.",
        f"p-value: {m.p_method or 'not computed'}. Lag scans are corrected with Holm (and BH shown).",
        f"Placebo response: in trials of magnesium for cramps the placebo arm fell about {PLACEBO_FALL:.0%} by "
        "itself, so a before/after comparison would credit that fall to magnesium. Only alternating, ideally "
        "randomized, on/off periods can separate the two.",
        "Outcome ascertainment: self-reported button presses, open label; expectation can change what gets logged.",
    ]
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def render(rep: Report) -> str:
    """The whole report as one HTML string."""
    m = rep.main
    series = m.series
    d = rep.data
    kinds_body = _figure(report_charts.per_kind(d.counts, d.tracked), "Bars: daily counts; line: 7-day mean.")
    body = [
        _section("summary", "Summary", _summary_section(rep)),
        _section("effect", "Effect estimate", _effect_section(rep)),
        _section(
            "timeline",
            "Timeline",
            _figure(
                report_charts.timeline(series, f"Daily events ({rep.main_name}) and magnesium intake"),
                "Top: events per tracked day (grey: not tracked). Bottom: supplemental "
                "elemental mg (bars) and dietary mg (dots).",
            ),
        ),
        _section("lags", "Lag profile", _lags_section(m)),
        _section(
            "hours", "Hour of day", _figure(report_charts.hours(d.hours), "Events with a known time, by local hour.")
        ),
        _section("kinds", "Per symptom kind", kinds_body),
        _section("quality", "Data quality", _quality_section(rep)),
        _section("methods", "Methods (CENT 2015 items that apply)", _methods_section(rep)),
    ]
    title = f"twitchlog report {d.first} to {d.last}"
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head><body>\n"
        f"<h1>Symptoms and magnesium</h1><p class='meta'>{_e(title)}; generated "
        f"{rep.generated:%Y-%m-%d %H:%M %Z} by twitchlog {__version__}.</p>\n" + "".join(body) + "</body></html>\n"
    )


def write(rep: Report, path: Path | str) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(rep), encoding="utf-8")
    except OSError as e:
        raise UserError(f"{path}: cannot write the report: {e.strerror or e}") from None
    return path
