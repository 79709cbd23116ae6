"""The report: built from a store holding the demo's 8 weeks, its HTML, `report` on the command line, Chromium."""

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from support.report_browser import distinct_colours, find_chromium, pixels_of, screenshot
from twitchlog import cli
from twitchlog.cli.report import REPORT_NAME
from twitchlog.cli.report import report as report_command
from twitchlog.firmware import protocol as P
from twitchlog.intake import entries as intake
from twitchlog.kinds import kind_code
from twitchlog.report import charts as report_charts
from twitchlog.report import html as report
from twitchlog.stats import simulate
from twitchlog.store import trials as trialstore
from twitchlog.store.db import Store

if "report" not in cli.main.commands:  # until cli.py registers it
    cli.main.add_command(report_command)

SVG = '<svg role="img"'
JSON_KEYS = {
    "kind",
    "rate_ratio_per_100mg",
    "ci_low",
    "ci_high",
    "p_value",
    "p_method",
    "days_used",
    "randomized",
    "sufficiency",
    "design",
    "wording",
    "per_kind",
    "report",
    "first_day",
    "last_day",
    "plan",
}


def _utc(moment: dt.datetime) -> int:
    return int(moment.timestamp())  # naive: system local time, as the CLI reads it


def fill(store: Store, demo: simulate.DemoTrial, *, with_plan: bool = True) -> None:
    """The demo's events, doses, diet and not-worn days, as a user would have logged them."""
    for day in demo.days:
        for moment, kind in day.events:
            store.add_event(_utc(moment), kind_code(kind))
        for moment, mg, form in day.supplements:
            intake.add_intake(store, mg, form=form, utc=_utc(moment))
        if day.diet_mg is not None:
            intake.add_intake(store, day.diet_mg, diet=True, utc=_utc(dt.datetime.combine(day.date, dt.time(19))))
        if not day.tracked:
            midnight = dt.datetime.combine(day.date, dt.time())
            store.add_gap(_utc(midnight), _utc(midnight + dt.timedelta(days=1)), "not worn")
    if with_plan:
        trialstore.save_plan(store, demo.plan.to_json())


@pytest.fixture(scope="module")
def demo():
    return simulate.demo_trial(seed=7)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, demo):
    path = tmp_path_factory.mktemp("report") / "twitchlog.db"
    with Store(path) as store:
        fill(store, demo)
    return path


@pytest.fixture(scope="module")
def built(demo_db):
    with Store(demo_db) as store:
        rep = report.build(store)
    return rep, report.render(rep)


def m_first_words(text: str) -> str:
    return html.escape(text.split(":")[0])


def test_report_has_every_section_and_chart(built, demo):
    rep, page = built
    for sid in report.SECTIONS:
        assert f'<section id="{sid}">' in page
    # posterior bars, effect forest, timeline, lag profile, hour of day, per kind
    assert page.count(SVG) == 6
    # The verdict comes first, then its chart, then the details.
    assert page.index("id='verdict'") < page.index("Probability of each size of effect") < page.index("Details:")
    assert page.index("Details:") < page.index("Rate ratio") and m_first_words(rep.main.headline) in page
    assert rep.data.kinds == ["twitch", "cramp"] and list(rep.results) == [report.COMBINED, "twitch", "cramp"]
    assert rep.data.gap_days == 2 and rep.data.days == 56
    m = rep.main
    assert m.randomized and m.reports_effect and m.ci_low < demo.rr_per_100mg < m.ci_high
    assert "randomization test over all 128" in page
    assert "CENT 8-10" in page and "Blinding (CENT 11)" in page  # trial.methods_text
    assert "fell about 28% by" in page and "before/after" in page
    assert "Untracked days: 2 (2 overlapped by a tracking gap" in page
    assert "p (Holm)" in page and "14-day mean" in page
    assert "Hour of day" in page and "Per symptom kind" in page


def test_report_is_self_contained(built):
    _, page = built
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "url(http" not in page and "@import" not in page


def test_summary_is_json_ready(built):
    rep, _ = built
    s = report.summary(rep, Path("/x/r.html"))
    assert JSON_KEYS <= set(s)
    assert s["randomized"] is True and s["days_used"] == 54 and set(s["per_kind"]) == {"twitch", "cramp"}
    assert all(isinstance(m, str) for m in s["sufficiency"])
    json.dumps(s, allow_nan=False)


def test_observational_without_a_plan(tmp_path, demo):
    with Store(tmp_path / "o.db") as store:
        fill(store, demo, with_plan=False)
        rep = report.build(store, kinds=[kind_code("twitch")])
    page = report.render(rep)
    assert list(rep.results) == ["twitch"] and not rep.main.randomized
    assert "Design: observational" in page and "No randomized plan was stored" in page
    assert "fell about 28% by" in page
    assert report.summary(rep)["randomized"] is False and report.summary(rep)["per_kind"] == {}


def test_little_data_says_what_is_needed_and_still_renders(tmp_path):
    with Store(tmp_path / "few.db") as store:
        for day in range(5, 10):
            store.add_event(_utc(dt.datetime(2026, 1, day, 9)), P.KIND_CRAMP)
        intake.add_intake(store, 200, utc=_utc(dt.datetime(2026, 1, 6, 8)))
        rep = report.build(store)
    page = report.render(rep)
    assert rep.main.rate_ratio_per_100mg is None
    assert "Not enough data yet" in page and "at least 28 are needed" in page
    assert "No lag profile" in page and page.count(SVG) == 4


def test_chart_svgs_are_bare_elements():
    svg = report_charts.forest([("a", 0.5, 0.3, 0.8), ("b", None, None, None)], "t")
    assert svg.startswith("<svg") and "<?xml" not in svg and 'width="100%"' in svg


# -- the command line -------------------------------------------------------------------------
def _run(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def test_cli_json_prints_the_key_figures(demo_db, tmp_path):
    out = tmp_path / "r.html"
    result = _run("--db", demo_db, "report", "--json", "--out", out)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert JSON_KEYS <= set(figures)
    assert figures["kind"] == "all kinds" and figures["randomized"] is True
    assert figures["ci_low"] < figures["rate_ratio_per_100mg"] < figures["ci_high"]
    assert figures["p_method"].startswith("randomization test") and 0 < figures["p_value"] < 0.05
    assert Path(figures["report"]) == out.resolve() and out.read_text().count(SVG) == 6
    assert figures["verdict"] in ("likely_helps", "inconclusive") and figures["meaningful_threshold"] == 0.2
    assert figures["percent_change_low"] <= figures["percent_change"] <= figures["percent_change_high"]
    assert set(figures["per_kind"]["cramp"]) >= {"verdict", "probability_of_benefit", "percent_change_high"}


def test_cli_default_path_summary_kind_and_open(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "data" / "twitchlog.db"
    db.parent.mkdir()
    db.write_bytes(demo_db.read_bytes())
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    result = _run("--db", db, "report", "--open", "--kind", "cramp")
    assert result.exit_code == 0, result.output
    path = db.parent / REPORT_NAME
    assert path.exists() and opened == [path.resolve().as_uri()]
    assert f"report written to {path.resolve()}" in result.output
    assert "Effect of supplemental magnesium" in result.output and "cramp" in result.output
    assert "all kinds" not in result.output


def test_cli_user_errors_are_one_line(tmp_path):
    result = CliRunner().invoke(cli.main, ["--db", str(tmp_path / "empty.db"), "report"])
    assert result.exit_code == 1 and "no symptom events with a known time yet" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli.main, ["--db", str(tmp_path / "empty.db"), "report", "--kind", "sneeze"])
    assert result.exit_code == 1 and "unknown symptom kind 'sneeze'" in result.output


# -- headless Chromium ------------------------------------------------------------------------
@pytest.mark.slow  # a real browser
def test_report_pdf_has_pages_and_the_verdict(demo_db, tmp_path):
    import shutil
    import subprocess

    if find_chromium() is None:
        pytest.skip("no chromium or chromium-browser on PATH (Debian: apt-get install chromium); no PDF printed")
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("no pdftoppm/pdftotext to read the PDF back (Debian: apt-get install poppler-utils)")
    import matplotlib.image as mpimg

    pdf = tmp_path / "doctor.pdf"
    result = _run("--db", demo_db, "report", "--out", tmp_path / "r.html", "--pdf", pdf, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["pdf"] == str(pdf.resolve()) and pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    for page in pages[:2]:
        img = mpimg.imread(str(page))
        assert (img[:, :, :3] < 0.9).any(axis=-1).mean() > 0.01, f"{page.name} is (nearly) blank"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    head = " ".join(figures["headline"].split()[:8])
    assert head in flat and flat.index(head) < flat.index("Details")  # the verdict first


@pytest.mark.slow  # a real browser
def test_report_renders_in_headless_chromium(built, tmp_path):
    browser = find_chromium()
    if browser is None:
        pytest.skip("no chromium or chromium-browser on PATH (Debian: apt-get install chromium); report not rendered")
    rep, _ = built
    page = report.write(rep, tmp_path / "report.html")
    img = screenshot(browser, page, tmp_path / "shot.png", 1200, 6000)
    assert img.shape[1] == 1200
    content = (img < 245).any(axis=-1)
    assert content.mean() > 0.02, "the page is (nearly) blank"
    assert distinct_colours(img) > 200
    # Charts drawn: the bar and marker colours of the charts show up in quantity.
    events = pixels_of(img, report_charts.EVENTS)  # timeline bars, forest squares, hour bars
    supplement = pixels_of(img, report_charts.SUPP)  # intake bars under the timeline
    cramp = pixels_of(img, report_charts.KIND_COLOURS[1])  # hour of day and per-kind panels
    assert events.sum() > 5000 and supplement.sum() > 2000 and cramp.sum() > 1000
    # ...in separate places down the page: forest and timeline above, hour of day and per kind below.
    rows = lambda mask: mask.any(axis=1).nonzero()[0]  # noqa: E731
    assert rows(supplement).min() > rows(events).min()  # the effect forest comes before the timeline
    assert rows(cramp).max() - rows(cramp).min() > 300  # two charts use the cramp colour


def test_long_series_charts_stay_small():
    import numpy as np
    import pandas as pd

    days = pd.date_range("2021-01-01", periods=3 * 365, freq="D")
    rng = np.random.default_rng(0)
    series = pd.DataFrame(
        {
            "events": rng.poisson(40, len(days)),
            "tracked": rng.random(len(days)) > 0.05,
            "supp_mg": np.where(rng.random(len(days)) > 0.5, 200.0, 0.0),
            "diet_mg": 300.0,
        },
        index=days,
    )
    svg = report_charts.timeline(series, "three years")
    kinds = report_charts.per_kind(pd.DataFrame({"twitch": series["events"]}), series["tracked"])
    assert len(svg) < 400_000 and len(kinds) < 200_000  # filled steps, not a thousand bars each


def test_cli_summary_says_what_is_still_needed(tmp_path):
    db = tmp_path / "few.db"
    with Store(db) as store:
        for day in range(5, 10):
            store.add_event(_utc(dt.datetime(2026, 1, day, 9)), P.KIND_TWITCH)
    result = _run("--db", db, "report", "--out", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    assert "Not enough data yet" in result.output and "5 tracked days; at least 28" in result.output
