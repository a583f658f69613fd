"""Reading a command line so that every bad flag is said at once, not only the first.

argparse stops at its first refusal (`--output xml` hides a `--tail x` after it). Here a refused
option is taken out of the command line, with its values, and the rest is read again, until the
rest is read without a refusal or only refusals argparse gives whole are left (unknown flags,
required ones missing). Each refusal is one line, `PROG: error: MESSAGE`, under the usage of the
command it belongs to; exit code 2."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

# What argparse takes as a value though it starts with '-' (no option of ours looks like one).
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


class Refusal(argparse.ArgumentError):
    """A refusal of the command line, tagged with the parser (the command) that made it."""

    parser: Parser


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose refusals are raised (as Refusal), never printed: `parse_all` says
    them together."""

    def __init__(self, *args: Any, command: bool = True, **kwargs: Any) -> None:
        """*command*: a command's parser (`unhazzle plan`), not the program's (`unhazzle`)."""
        kwargs["exit_on_error"] = False
        super().__init__(*args, **kwargs)
        self.command = command

    def error(self, message: str) -> NoReturn:  # the refusals argparse gives whole
        refusal = Refusal(None, message)
        refusal.parser = self
        raise refusal

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        try:
            parsed, rest = super().parse_known_args(args, namespace)
        except argparse.ArgumentError as err:
            if not isinstance(err, Refusal):  # the innermost parser is the command that refused
                refusal = Refusal(None, err.message)
                refusal.argument_name, refusal.parser = err.argument_name, self
                raise refusal from None
            raise
        if rest and self.command:  # said by the command, under its own usage
            self.error(f"unrecognized arguments: {' '.join(rest)}")
        return parsed, rest


def parse_all(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """*argv* read by *parser*; on any refusal, every refusal printed, and SystemExit(2)."""
    said: list[Refusal] = []
    usage = ""
    while len(said) <= 100:
        try:
            args = parser.parse_args(argv)
        except Refusal as refused:
            if any(str(each) == str(refused) for each in said):  # nothing more can be learnt
                break
            if not said:  # (before _without makes anything optional)
                usage = refused.parser.format_usage()
            said.append(refused)
            rest = _without(argv, refused)
            if rest is None:
                break
            argv = rest
            continue
        if not said:
            return args
        break
    sys.stderr.write(usage)
    for each in said:
        sys.stderr.write(f"{each.parser.prog}: error: {each}\n")
    raise SystemExit(2)


def _without(argv: list[str], refusal: Refusal) -> list[str] | None:
    """*argv* without the option *refusal* is about, and its values; or, for a refusal of what is
    missing, *argv* again with nothing required of the command any more. None when nothing can
    be taken out (an unknown flag or command, a positional argument: said whole already)."""
    actions = refusal.parser._actions
    if refusal.argument_name is None:
        required = [a for a in actions if a.required] + [
            g for g in refusal.parser._mutually_exclusive_groups if g.required
        ]
        for each in required:
            each.required = False
        return argv if required else None
    action = next(
        (a for a in actions if a.option_strings and "/".join(a.option_strings) == refusal.argument_name), None
    )
    if action is None:
        return None
    action.required = False  # taken out: not "required" as well, the next time round
    out: list[str] = []
    skip = 0
    ended = False  # after `--` every word is an argument
    for word in argv:
        if skip and not ended and (not word.startswith("-") or _NEGATIVE_NUMBER.match(word)):
            skip -= 1
            continue
        skip = 0
        if word == "--":
            ended = True
        if not ended and _names(word, action):
            skip = 0 if "=" in word or _attached(word, action) else _values(action)
            continue
        out.append(word)
    return out if out != argv else None


def _names(word: str, action: argparse.Action) -> bool:
    """Whether *word* gives *action*: one of its names, a long name's unambiguous start as
    argparse takes it (`--out` for `--output`), with `=VALUE` or a short name's value attached."""
    name = word.split("=", 1)[0]
    for option in action.option_strings:
        if name == option or _attached(word, action):
            return True
        if option.startswith("--") and len(name) > 2 and name.startswith("--") and option.startswith(name):
            return True
    return False


def _attached(word: str, action: argparse.Action) -> bool:
    """`-eprod` for `-e prod`."""
    return any(
        len(option) == 2 and not option.startswith("--") and word.startswith(option) and len(word) > 2
        for option in action.option_strings
    )


def _values(action: argparse.Action) -> int:
    """How many words after the option's name may be its values."""
    if action.nargs == 0:
        return 0
    if action.nargs is None or action.nargs == "?":
        return 1
    if isinstance(action.nargs, int):
        return action.nargs
    return 1 << 30  # `*`, `+`: every value up to the next option
