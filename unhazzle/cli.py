"""The `unhazzle` command: parses arguments, calls one function per command, maps errors to exit
codes (0 success, 2 bad input, 1 anything else). Commands live one per module in
unhazzle/commands/ and import their heavy dependencies lazily, so `render` stays fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from unhazzle import __version__
from unhazzle.commands.flags import Parser, parse_all
from unhazzle.errors import UnhazzleError
from unhazzle.shared import collector
from unhazzle.shared.streams import carries_utf8

# command name -> module under unhazzle.commands (each has add_parser(sub) and run(args) -> int)
COMMANDS = {
    "validate": "validate",
    "plan": "plan",
    "explain": "explain",
    "render": "render",
    "env": "env",
    "secrets": "secrets",
    "inspect": "inspect",
    "init": "init",
    "preview": "preview",
    "preview-env": "preview_env",
    "dev": "dev",
    "publish": "publish",
    "status": "status",
    "events": "events",
    "logs": "logs",
    "metrics": "metrics",
    "run": "run",
    "history": "history",
    "rollback": "rollback",
    "retry-release": "retry_release",
    "dev-cluster": "devcluster",
    "reconcile": "reconcile",
    "install-manifests": "install_manifests",
}
# Commands that take another program's command line after `--`, passed on untouched (`--debug`
# and `--help` there are that program's): as args.passthrough, never seen by argparse.
PASSTHROUGH = frozenset({"run"})
# Commands that keep running (a service, a loop, another program's run): see _keeps_running.
LONG_RUNNING = frozenset({"dev", "run"})  # (and `reconcile` unless it makes one pass)


def build_parser(command: str | None = None) -> Parser:
    """The whole parser, or (given a known *command*) one with only that command's sub-parser:
    importing every command module costs more than rendering a small project (issue 2)."""
    parser = Parser(
        prog="unhazzle",
        command=False,
        description="Run your apps on Kubernetes from one unhazzle.yaml, without learning Kubernetes.",
    )
    parser.add_argument("--version", action="version", version=f"unhazzle {__version__}")
    parser.add_argument("--debug", action="store_true", help="show internal details on failure")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    modules = [COMMANDS[command]] if command in COMMANDS else COMMANDS.values()
    for module in modules:
        importlib.import_module(f"unhazzle.commands.{module}").add_parser(sub)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The command *argv* names, or None when the top-level parser must see every command (for
    `--help`, `--version`, a missing or misspelt command). No top-level option takes a value."""
    for arg in argv:
        if arg in ("-h", "--help", "--version"):
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _keeps_running(args: argparse.Namespace) -> bool:
    """A service, a loop or a stream that may run for minutes or hours. (`reconcile --once` makes
    one pass and ends: paced as one command, like the compiler's.)"""
    if args.command == "reconcile":
        from unhazzle.commands.reconcile import one_pass  # (already imported: its parser is built)

        return not one_pass(args)
    streams = getattr(args, "watch", False) or getattr(args, "follow", False)
    return args.command in LONG_RUNNING or bool(streams)


def _never_fail_to_print() -> None:
    """Output goes out whatever the terminal's encoding: a character it cannot show (the `→` of a
    preview, an app's unicode setting under LC_ALL=C or PYTHONIOENCODING=ascii) is written as an
    escape, never an internal error after half the output."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and not carries_utf8(stream):
            reconfigure(errors="backslashreplace")


def program() -> int:
    """The `unhazzle` program (its console script and `python -m unhazzle`): main(), in a process
    of its own, so the cycle collector may be tuned for it (never for a caller's process)."""
    return main(own_process=True)


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] | None = None
    if "--" in argv and _command_in(argv[: argv.index("--")]) in PASSTHROUGH:
        argv, passthrough = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    debug = "--debug" in argv
    if debug:  # accepted anywhere (`unhazzle plan --debug` too): it is the top-level parser's
        argv = ["--debug", *(arg for arg in argv if arg != "--debug")]
    # pydantic reads every installed package's metadata for plugins on its first model, and a
    # plugin (an observability SDK's, say) would see users' specs and secrets files: run none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if not [arg for arg in argv if arg != "--debug"]:  # `unhazzle` alone: what can I do here?
        build_parser().print_help()
        return 0
    if own_process:
        collector.tune_for_one_command()
        _never_fail_to_print()
    try:
        args = parse_all(build_parser(_command_in(argv)), argv)
        collector.keep_what_is_loaded()
        if _keeps_running(args):
            collector.usual_pace()
        args.passthrough = passthrough
        if hasattr(args, "settle"):
            args.settle(args)
        result: int = args.run(args)
        return result
    except UnhazzleError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("unhazzle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so plainly, and show it only when asked
        if debug:
            import traceback  # only here: a bug report, not every start, pays for it

            traceback.print_exc()
        print(
            f"unhazzle: internal error: {type(exc).__name__}: {exc} (run again with --debug for details)",
            file=sys.stderr,
        )
        return 1
