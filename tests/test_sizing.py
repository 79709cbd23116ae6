"""Sizing the trial to the user: their rate and noise, block lengths compared, chance of an answer by week."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from twitchlog import cli
from twitchlog.stats import simulate, sizing


def test_user_noise_comes_from_their_days_or_defaults_it_says_so():
    assert sizing.user_noise(np.array([2, 3, 4]))[2] is False
    rng = np.random.default_rng(1)
    counts = simulate.counts(np.full(2000, 5.0), rng, alpha=0.4)  # with the default latent noise
    rate, alpha, mine = sizing.user_noise(counts)
    assert mine and rate == pytest.approx(5.0, rel=0.1) and alpha == pytest.approx(0.4, abs=0.15)
    quiet = sizing.user_noise(rng.poisson(1.0, 200))
    assert quiet[1] == 0.02  # no overdispersion beyond the latent noise: the floor


def test_conclusive_chance_grows_with_the_effect_and_the_precision():
    sd = 0.3
    chances = [sizing.conclusive_chance(math.log1p(-r), sd, sd) for r in (0.2, 0.3, 0.5)]
    assert chances == sorted(chances) and chances[2] > 0.5
    assert sizing.conclusive_chance(math.log(0.5), 0.15, 0.15) > chances[2]
    # No effect: "likely no meaningful effect" is the conclusive answer once the data are precise.
    assert sizing.conclusive_chance(0.0, 0.05, 0.05) > 0.9


def test_size_trial_compares_block_lengths_week_by_week():
    rng = np.random.default_rng(3)
    counts = simulate.counts(np.full(28, 3.0), rng)
    s = sizing.size_trial(counts, runs=6, blocks=(4, 7))
    assert s.from_user and s.tracked_days == 28 and not s.notes
    assert set(s.chance) == {4, 7} and s.weeks[0] == 2 and s.weeks[-1] == 36
    for per in s.chance.values():
        for chances in per.values():
            assert all(0 <= c <= 1 for c in chances) and chances[-1] >= chances[3]
        assert per[0.5][-1] > per[0.2][-1]
    # 7-day blocks keep the lag 0-3 contrast whole; 4-day blocks lose part of it.
    assert s.best_block_days == 7 and s.chance[7][0.5][10] > s.chance[4][0.5][10]
    assert json.dumps(s.to_dict())


@pytest.mark.slow  # simulates three designs (10-30 s on a shared machine)
def test_trial_plan_size_picks_the_design_and_prints_the_table(tmp_path):
    db = tmp_path / "t.db"
    # Sizing is what a plain `trial plan` does.
    result = CliRunner().invoke(cli.main, ["--db", str(db), "trial", "plan", "--json", "--seed", "1"])
    assert result.exit_code == 0, result.output
    text = result.output[result.output.index("{") :]
    plan = json.loads(text)
    assert plan["sizing"]["from_your_data"] is False and plan["block_days"] == plan["sizing"]["best_block_days"]
    table = CliRunner().invoke(
        cli.main, ["--db", str(db), "trial", "plan", "--size", "--replace", "--block-days", "4", "--pairs", "9"]
    )
    assert table.exit_code == 0, table.output
    assert "Chance of a conclusive answer" in table.output and "most likely to give an answer" in table.output
    assert "9 pairs of 4-day blocks" in table.output  # what the user gave wins
