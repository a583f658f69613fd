"""The command line: a named command loads only its own module (start-up time, issue 2), and
what a user sees of the parser is the same either way."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL, ROOT
from unhazzle.cli import COMMANDS, _command_in, build_parser
from unhazzle.commands.flags import parse_all
from unhazzle.errors import UsageError

PROBE = (
    "import sys; from unhazzle.cli import build_parser, _command_in; "
    "build_parser(_command_in(sys.argv[1:])); import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith('unhazzle.commands.'))))"
)


def _loaded(*argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=ROOT, check=True
    )
    names: list[str] = json.loads(done.stdout)
    return names


def test_cli_named_command_loads_only_its_module():
    assert _loaded("--debug", "render", "x.yaml", "--out", "o") == [
        "unhazzle.commands.common",
        "unhazzle.commands.flags",
        "unhazzle.commands.render",
    ]


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["rendr"], [], ["--debug"]])
def test_cli_help_version_and_unknown_commands_load_every_command(argv: list[str]):
    assert len(_loaded(*argv)) >= len(COMMANDS)


def test_cli_help_lists_every_command(cli):
    result = cli("--help")
    assert result.code == 0
    for name in COMMANDS:
        assert name in result.out


def test_cli_command_help_is_the_same_as_from_the_whole_parser(cli):
    assert cli("render", "--help").out == _help(build_parser(), "render")


def test_cli_misspelt_command_names_the_choices(cli):
    result = cli("rendr", "x.yaml")
    assert result.code == 2
    assert "invalid choice: 'rendr'" in result.err
    assert "'render'" in result.err and "'publish'" in result.err


def test_cli_bad_flag_of_named_command_is_a_usage_error(cli):
    result = cli("render", "--bogus")
    assert result.code == 2
    assert result.err.startswith("usage: unhazzle render")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["logs", "web", "--tail", "-5", "--since", "1y", "--previous", "--follow"],
         ["--tail: error: -5 is out of range (0-100000)",
          "--since: error: '1y' is not a duration; write it like 30s, 10m, 1h or 2d",
          "--previous: error: cannot be combined with --follow (that run has ended)"]),
        (["publish", "--to", "r", "--branch", "a b", "--timeout", "0", "--attempts", "0"],
         ["--branch: error: 'a b' is not a usable branch name",
          "--timeout: error: 0 is out of range; give more than 0 and at most 86400 seconds",
          "--attempts: error: 0 is not between 1 and 100"]),
        (["reconcile", "--repo", "r", "--interval", "0", "--workers", "0", "--shard", "9/2"],
         ["--interval: error: 0 is out of range; give a number more than 0",
          "--workers: error: 0 is out of range; give a number at least 1",
          "--shard: error: '9/2': K must be 0 to N-1 and N at least 1"]),
        # with argparse's own refusals, too
        (["history", "--repo", "r", "--limit", "0", "--bogus"],
         ["unhazzle history: error: unrecognized arguments: --bogus",
          "--limit: error: 0 is not between 1 and 1000"]),
    ],
)  # fmt: skip
def test_a_commands_own_checks_of_its_flags_values_are_said_at_once(cli, argv, said):
    result = cli(*argv)
    assert result.code == 2
    assert [line for line in result.err.splitlines() if "error:" in line] == said


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        # the stray word after an unknown flag is not taken out of --project, which keeps its value
        (["init", "new.yaml", "--project", "x", "--yes", "--bogus", "x"],
         ["unhazzle init: error: unrecognized arguments: --bogus x"]),
        # nor a word spelt like the command, which is the command
        (["init", "new.yaml", "--app", "init", "--image", "init:1", "--yes", "init"],
         ["unhazzle init: error: unrecognized arguments: init"]),
    ],
)  # fmt: skip
def test_taking_out_an_unknown_word_invents_no_other_refusal(cli, argv, said, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli(*argv)
    assert result.code == 2
    assert [line for line in result.err.splitlines() if "error:" in line] == said


def test_every_bad_flag_is_said_at_once_under_the_commands_usage(cli):
    result = cli("logs", "web", "--tail", "x", "--output", "--bogus", "--since")
    assert result.code == 2
    usage, *said = result.err.split("\nunhazzle logs: error: ")
    assert usage.startswith("usage: unhazzle logs") and usage.count("usage:") == 1
    assert said == [
        "argument --tail: invalid int value: 'x'",
        "argument --since: expected one argument",
        "unrecognized arguments: --output --bogus\n",
    ]


@pytest.mark.parametrize("given", [["--output", "xml"], ["--output=xml"], ["--out", "xml"]])
def test_a_refused_flag_is_said_once_and_its_value_is_not_taken_for_an_argument(cli, given):
    result = cli("plan", *given, "--env")
    assert result.code == 2
    assert result.err.splitlines()[-2:] == [
        "unhazzle plan: error: argument --output: invalid choice: 'xml' (choose from 'text', 'json', 'markdown')",
        "unhazzle plan: error: argument --env: expected one argument",
    ]


def test_a_required_flag_without_its_value_is_one_problem_and_the_usage_still_says_it_is_required(cli):
    result = cli("publish", "--to", "--branch")
    assert result.code == 2
    assert "usage: unhazzle publish [-h] [--spec SPEC] --to ENV_REPO" in result.err
    assert [line for line in result.err.splitlines() if "error:" in line] == [
        "unhazzle publish: error: argument --to: expected one argument",
        "unhazzle publish: error: argument --branch: expected one argument",
    ]


def test_what_is_missing_and_what_is_unknown_are_both_said(cli):
    result = cli("explain", "--bogus")
    assert result.code == 2
    assert [line for line in result.err.splitlines() if "error:" in line] == [
        "unhazzle explain: error: the following arguments are required: [SPEC] APP",
        "unhazzle explain: error: unrecognized arguments: --bogus",
    ]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["plan", "--output", "xml", "--help"], ["argument --output: invalid choice: 'xml'"]),
        (["plan", "--output", "xml", "--output", "yaml"],
         ["argument --output: invalid choice: 'xml'", "argument --output: invalid choice: 'yaml'"]),
        (["reconcile", "--repo", "r", "--webhook-format", "xml", "--webhook"],
         ["argument --webhook-format: invalid choice: 'xml'", "argument --webhook: expected one argument"]),
        (["logs", "web", "--tail", "x", "--s", "1h"],
         ["ambiguous option: --s could match --spec, --since", "argument --tail: invalid int value: 'x'"]),
    ],
)  # fmt: skip
def test_help_repeats_abbreviations_and_longer_names_hide_no_bad_flag(cli, argv, said):
    result = cli(*argv)
    assert result.code == 2 and result.out == ""
    errors = [line.split(": error: ", 1)[1] for line in result.err.splitlines() if ": error: " in line]
    assert [e[: len(s)] for e, s in zip(errors, said, strict=False)] == said and len(errors) == len(said)


WORDS = ["plan", "render", "logs", "publish", "secrets", "keygen", "env", "set", "--", "-", "x", "-5",
         "--env", "--output", "--out", "--output=xml", "json", "--tail", "--to", "--help", "-h", "--bogus",
         "--debug", "--since", "--follow", "--follow=1", "--instance", "-e", "web", "=",
         "preview-env", "up", "history", "init", "reconcile", "--timeout", "0", "--limit", "--port",
         "--interval", "--previous"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=8))
def test_no_command_line_crashes_the_reading_of_it(words: list[str]) -> None:
    """Whatever the words, they are read, or refused (exit 2), or help is printed (exit 0)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            parse_all(build_parser(_command_in(words)), list(words))
        except SystemExit as exit:
            assert exit.code in (0, 2)
            assert exit.code == 0 or "error:" in err.getvalue()


def _help(parser, command: str) -> str:
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command].format_help()


@pytest.mark.parametrize("out", ["a-file", "a-file/sub"])
def test_render_out_that_cannot_be_a_folder_is_bad_input(cli, write_spec, out):
    spec = write_spec(MINIMAL)
    (spec.parent / "a-file").write_text("not a folder\n")
    result = cli("render", str(spec), "--out", str(spec.parent / out))
    assert result.code == 2
    assert result.err.startswith("--out: error: ")
    assert "internal error" not in result.err and "Traceback" not in result.err
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize("out", ["a-file", "a-file/sub", ""])
def test_render_out_that_cannot_be_a_folder_is_said_with_the_spec_problems(cli, write_spec, out):
    spec = write_spec(MINIMAL.replace("port: 8080", "port: eighty"))
    (spec.parent / "a-file").write_text("not a folder\n")
    result = cli("render", str(spec), "--out", str(spec.parent / out) if out else "")
    assert result.code == 2
    lines = result.err.splitlines()
    assert len(lines) == 2, result.err
    assert lines[0].startswith(f"{spec}:") and "apps.web.port" in lines[0]
    assert lines[1].startswith("--out: error: ")
    assert sorted(p.name for p in spec.parent.iterdir()) == ["a-file", spec.name]  # nothing made


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("dangling/sub", "/dangling' is a link to nothing"),
        ("new/" + "x" * 300 + "/sub", "File name too long"),  # under a folder not made yet
        ("a-file\nx/sub", "/a-file\\nx' is a file, not a folder"),  # one line, as every problem
    ],
)
def test_render_out_refused_before_anything_is_made(cli, write_spec, out, says):
    spec = write_spec(MINIMAL)
    (spec.parent / "dangling").symlink_to(spec.parent / "nowhere")
    (spec.parent / "a-file\nx").write_text("not a folder\n")
    before = sorted(spec.parent.iterdir())
    result = cli("render", str(spec), "--out", str(spec.parent / out))
    assert result.code == 2
    [line] = result.err.splitlines()
    assert line.startswith("--out: error: cannot write to ") and line.endswith(says), line
    assert sorted(spec.parent.iterdir()) == before


def test_render_out_empty_is_bad_input_not_the_current_folder(cli, write_spec, tmp_path, monkeypatch):
    spec = write_spec(MINIMAL)
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = cli("render", str(spec), "--out", "")
    assert result.code == 2
    assert result.err.startswith("--out: error: an empty path")
    assert sorted(tmp_path.iterdir()) == before


def test_explain_usage_says_one_spec_and_one_app(cli):
    assert cli("explain", "--help").out.startswith(
        "usage: unhazzle explain [-h] [--env ENV] [--spec SPEC] [SPEC] APP\n"
    )


@pytest.mark.parametrize("command", ["validate", "plan", "explain", "render", "publish", "preview"])
def test_every_command_takes_the_spec_as_spec_too(cli, write_spec, command):
    """One grammar: `--spec FILE` works everywhere; the spec given twice is a usage error."""
    spec = str(write_spec(MINIMAL))
    extra = {"explain": ["web"], "render": ["--out", spec + ".out"], "publish": ["--to", "/nonexistent", "--dry-run"],
             "preview": ["--base", "HEAD"]}.get(command, [])  # fmt: skip
    assert "--spec SPEC" in cli(command, "--help").out
    twice = (
        cli(command, spec, "--spec", spec + "2", *extra)
        if command != "explain"
        else cli(command, spec, "web", "--spec", spec + "2")
    )
    assert twice.code == 2 and "the spec is given twice" in twice.err
    if command in ("validate", "plan", "explain", "render"):
        result = cli(command, "--spec", spec, *extra)
        assert result.code == 0, result.err


def test_debug_after_the_command_is_accepted(cli, write_spec):
    spec = write_spec(MINIMAL)
    result = cli("validate", str(spec), "--debug")
    assert result.code == 0, result.err
    assert result.out.endswith(": OK (1 environment, 1 app)\n")


def test_unhazzle_alone_prints_the_help_with_every_command(cli) -> None:
    result = cli()
    assert result.code == 0 and result.err == ""
    assert result.out.startswith("usage: unhazzle")
    for command in ("validate", "plan", "render", "publish", "reconcile", "status"):
        assert f"\n    {command} " in result.out


COLLECTOR = (
    "import gc, sys; from unhazzle.cli import main, program; before = (gc.get_threshold(), gc.get_freeze_count()); "
    "sys.argv = ['unhazzle', *sys.argv[1:]]; main(sys.argv[1:]); embedded = (gc.get_threshold(), gc.get_freeze_count()); "
    "program(); print(before == embedded, gc.get_threshold() != before[0], gc.get_freeze_count() > 0)"
)


def test_the_program_tunes_the_cycle_collector_but_main_inside_another_process_does_not(write_spec):
    # a caller that runs main() in its own process (a test, a tool) keeps its collector as it was
    done = subprocess.run(
        [sys.executable, "-c", COLLECTOR, "validate", str(write_spec(MINIMAL))],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    assert done.stdout.split()[-3:] == ["True", "True", "True"]


KEEPS_RUNNING = (
    "import gc, sys; from unhazzle.cli import program; before = gc.get_threshold(); "
    "sys.argv = ['unhazzle', *sys.argv[1:]]; program(); print(gc.get_threshold() == before)"
)


@pytest.mark.parametrize(
    ("argv", "usual"),
    [
        (["logs", "web", "--follow"], True),
        (["status", "--watch"], True),
        (["reconcile", "--repo", "nowhere"], True),  # its loop collects between passes (collector.py)
        (["reconcile", "--repo", "nowhere", "--once"], False),  # one pass, paced as one command
    ],
)
def test_a_command_that_keeps_running_keeps_the_collectors_usual_pace_and_a_one_pass_reconcile_does_not(
    argv: list[str], usual: bool, tmp_path
):
    # (it fails at once here, for want of a cluster: what matters is the pace after its arguments)
    done = subprocess.run(
        [sys.executable, "-c", KEEPS_RUNNING, *argv, "--kubeconfig", str(tmp_path / "none")],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert done.stdout.split()[-1:] == [str(usual)]


def test_output_a_terminal_cannot_show_is_escaped_not_an_internal_error(write_spec):
    spec = write_spec(MINIMAL + "    env: {GREETING: 'grüß → ☃'}\n")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(
        [sys.executable, "-m", "unhazzle", "explain", str(spec), "web"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "gr\\xfc\\xdf \\u2192 \\u2603" in done.stdout
    # JSON stays JSON: its own escapes, never Python's
    argv = [sys.executable, "-m", "unhazzle", "explain", str(spec), "web", "--output", "json"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    [setting] = json.loads(done.stdout)["environments"][0]["settings"]
    assert setting["value"] == "grüß → ☃"


def test_a_problem_with_no_place_in_a_file_says_error_after_where_it_is() -> None:
    assert UsageError("--tail: -5 is out of range").lines() == ["--tail: error: -5 is out of range"]
    assert UsageError("--out: error: an empty path").lines() == ["--out: error: an empty path"]
    assert UsageError("a: one\nb: two").lines() == ["a: error: one", "b: error: two"]
    assert UsageError("a preview was updated while pruning").lines() == [
        "error: a preview was updated while pruning"
    ]
