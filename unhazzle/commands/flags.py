"""Reading a command line so that every bad flag is said at once, not only the first.

argparse stops at its first refusal (`--output xml` hides a `--tail x` after it). Here a refused
option is taken out of the command line, with its values, and the rest is read again, until the
rest is read without a refusal or only refusals argparse gives whole are left (unknown flags,
required ones missing). Each refusal is one line, `PROG: error: MESSAGE`, under the usage of the
command it belongs to; exit code 2. A command whose flags' values are checked by the command
itself (`init`) gives that check as the default `check_flags`: its lines about the rest follow."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from unhazzle.errors import UsageError

# What argparse takes as a value though it starts with '-' (no option of ours looks like one).
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")


class Refusal(argparse.ArgumentError):
    """A refusal of the command line, tagged with the parser (the command) that made it."""

    parser: Parser
    unrecognized: tuple[str, ...] = ()  # the words no option of the command takes


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
            refusal = Refusal(None, f"unrecognized arguments: {' '.join(rest)}")
            refusal.parser, refusal.unrecognized = self, tuple(rest)
            raise refusal
        return parsed, rest


def parse_all(parser: Parser, argv: list[str]) -> argparse.Namespace:
    """*argv* read by *parser*; on any refusal, every refusal printed, and SystemExit(2)."""
    said: list[Refusal] = []
    usage = ""
    args: argparse.Namespace | None = None  # what the rest reads as, once no refusal is left
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
            # `--help` after a refused flag says nothing of the refusal: the refusal is said
            argv = [word for word in rest if word not in _HELP] if "--" not in rest else rest
            continue
        if not said:
            return args
        break
    sys.stderr.write(usage)
    for each in said:
        sys.stderr.write(f"{each.parser.prog}: error: {each}\n")
    for line in _checked(args):
        sys.stderr.write(f"{line}\n")
    raise SystemExit(2)


def _checked(args: argparse.Namespace | None) -> list[str]:
    """What a command that checks its flags' values itself finds wrong with the rest."""
    check = getattr(args, "check_flags", None) if args is not None else None
    if not callable(check):
        return []
    try:
        lines: list[str] = check(args)
    except (AttributeError, TypeError, ValueError):  # the rest lacks what a refused word would give
        return []
    return lines


def checked_by(read: Callable[[argparse.Namespace], object]) -> Callable[[argparse.Namespace], list[str]]:
    """A command's `check_flags` (parse_all says its lines with argparse's refusals): what *read*,
    the command's own reading of its flags' values (with errors.at_once), refuses."""

    def check(args: argparse.Namespace) -> list[str]:
        try:
            read(args)
        except UsageError as exc:
            return exc.lines()
        return []

    return check


_HELP = ("-h", "--help", "--version")
_AMBIGUOUS = re.compile(r"ambiguous option: (\S+?)(=\S*)? could match (.+)$")


def _without(argv: list[str], refusal: Refusal) -> list[str] | None:
    """*argv* without the option *refusal* is about, and its values (those it refused, where
    that can be told); or, for a refusal of what is missing, *argv* again with nothing required
    of the command any more. None when nothing can be taken out (an unknown flag or command, a
    positional argument: said whole already)."""
    parser = refusal.parser
    if refusal.unrecognized:  # unknown options taken out, so the rest is read (and checked)
        if not all(word.startswith("-") and word != "-" for word in refusal.unrecognized):
            return None  # a stray word: which one of the same spelling it was cannot be told
        end = argv.index("--") if "--" in argv else len(argv)
        rest = list(argv)
        for word in refusal.unrecognized:  # the last of its spelling: argparse read the others
            places = [at for at in range(end) if rest[at] == word]
            if places:
                del rest[places[-1]]
                end -= 1
        return rest if rest != argv else None
    if refusal.argument_name is None:
        ambiguous = _AMBIGUOUS.match(refusal.message)
        if ambiguous:
            return _without_ambiguous(argv, parser, ambiguous)
        required = [a for a in parser._actions if a.required] + [
            g for g in parser._mutually_exclusive_groups if g.required
        ]
        for each in required:
            each.required = False
        return argv if required else None
    named = (a for a in parser._actions if a.option_strings)
    action = next((a for a in named if "/".join(a.option_strings) == refusal.argument_name), None)
    if action is None:
        return None
    action.required = False  # taken out: not "required" as well, the next time round
    found = _occurrences(argv, action, set(parser._option_string_actions))
    # the first it refuses (the next is said the next time round), or all when that cannot be told
    refused = [(start, end) for start, end, value in found if _refused(action, value)][:1] or [
        (start, end) for start, end, _ in found
    ]
    dropped = {index for start, end in refused for index in range(start, end)}
    rest = [word for index, word in enumerate(argv) if index not in dropped]
    return rest if rest != argv else None


def _without_ambiguous(argv: list[str], parser: Parser, found: re.Match[str]) -> list[str] | None:
    """*argv* without an option name that starts more than one option's, and its value when every
    option it could be takes one."""
    word = found.group(1) + (found.group(2) or "")
    if word not in argv:
        return None
    at = argv.index(word)
    could = [parser._option_string_actions.get(name.strip()) for name in found.group(3).split(",")]
    takes_one = not found.group(2) and all(a is not None and _values(a) == 1 for a in could)
    value = takes_one and at + 1 < len(argv) and _is_value(argv[at + 1])
    return argv[:at] + argv[at + 1 + value :]


Occurrence = tuple[int, int, str | None]  # first word, past the last, the value (None: none given)


def _occurrences(argv: list[str], action: argparse.Action, names: set[str]) -> list[Occurrence]:
    """Where *argv* gives *action*, up to `--`."""
    found: list[Occurrence] = []
    at = 0
    while at < len(argv) and argv[at] != "--":
        word = argv[at]
        if not _names(word, action, names):
            at += 1
            continue
        if "=" in word:
            found.append((at, at + 1, word.split("=", 1)[1]))
        elif _attached(word, action):
            found.append((at, at + 1, word[2:]))
        else:
            end = at + 1
            while end < len(argv) and end - at <= _values(action) and _is_value(argv[end]):
                end += 1
            found.append((at, end, argv[at + 1] if end > at + 1 else None))
            at = end - 1
        at += 1
    return found


def _refused(action: argparse.Action, value: str | None) -> bool:
    """Whether argparse refuses *value* for *action* (None: no value given, where one is needed)."""
    if value is None:
        return _values(action) > 0
    try:
        converted = action.type(value) if callable(action.type) else value
    except (ValueError, TypeError, argparse.ArgumentTypeError):
        return True
    return action.choices is not None and converted not in action.choices


def _is_value(word: str) -> bool:
    """Whether argparse takes *word* as a value rather than an option's name."""
    return not word.startswith("-") or bool(_NEGATIVE_NUMBER.match(word))


def _names(word: str, action: argparse.Action, names: set[str]) -> bool:
    """Whether *word* gives *action*: one of its names, a long name's start as argparse takes it
    (`--out` for `--output`, but never another option's own name), with `=VALUE` or a short
    name's value attached."""
    name = word.split("=", 1)[0]
    if name in action.option_strings or _attached(word, action):
        return True
    return (
        name not in names
        and len(name) > 2
        and name.startswith("--")
        and any(option.startswith(name) for option in action.option_strings if option.startswith("--"))
    )


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
