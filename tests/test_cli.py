"""The command line: help everywhere, and the current end-to-end demo."""

import io
import subprocess
import sys

import pytest
from twitchlog import cli, core_demo


def _subcommands():
    parser = cli.build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return parser, actions[0].choices


def test_every_command_has_help_text():
    parser, commands = _subcommands()
    assert parser.description
    assert commands, "no commands registered"
    for name, sub in commands.items():
        assert sub.description, f"`twitchlog {name}` has no description"
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"`twitchlog {name}` option {action.dest} has no help"


def test_console_script_runs_and_shows_help():
    proc = subprocess.run([sys.executable, "-m", "twitchlog.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "demo" in proc.stdout


def test_bad_argument_is_one_clear_line(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "--weeks", "many"])
    assert exc.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


def test_core_demo_places_every_recorded_event_and_survives_the_power_cut():
    out = io.StringIO()
    assert core_demo.run(weeks=3, seed=11, out=out) == 0
    text = out.getvalue()
    assert "recorded events missing after the cut" in text
    lines = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in text.splitlines() if line.count("│") == 3}
    assert lines["recorded events missing after the cut"] == "0"
    assert float(lines["max |UTC placed - true| with 3% RTC"].split()[0]) <= 2.0
