"""Asking questions on a terminal: free text with a default, choices, yes/no.

Choices are a menu on a capable terminal: arrow keys (or j/k) move, a number or the first letters of
a name jump, Enter picks. Elsewhere (TERM unset or dumb, UNHAZZLE_PROMPT=plain for screen readers)
they are a numbered list answered with a line. Each answer is checked at once and asked again when
wrong; Ctrl-D (end of input) stops like Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from unhazzle.shared.numbers import whole_number

Check = Callable[[str], str | None]  # answer -> problem, or None when it is fine


class Prompter:
    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.menus = _menus_work(self.stdin, self.stdout)

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _line(self, prompt: str) -> str:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:  # end of input: the user pressed Ctrl-D
            raise KeyboardInterrupt
        return line.strip()

    def text(self, label: str, *, default: str | None = None, check: Check | None = None) -> str:
        """Free text; Enter takes the default (shown in brackets)."""
        suffix = f" [{default}]" if default else ""
        while True:
            answer = self._line(f"{label}{suffix}: ") or default or ""
            problem = check(answer) if check else None
            if problem is None:
                return answer
            self.say(f"  {problem}")

    def choose(self, label: str, choices: dict[str, str], *, default: str, explain: str = "") -> str:
        """One of *choices* (answer -> meaning), by number or by name; the default is marked."""
        self.say(label)
        if explain:
            self.say(f"  {explain}")
        keys = list(choices)
        width = max(len(key) for key in keys)
        lines = [
            f"{n}) {key:<{width}}  {choices[key]}{'  (default)' * (key == default)}"
            for n, key in enumerate(keys, 1)
        ]
        if self.menus:
            return _Menu(self, keys, lines, default).run()
        for line in lines:
            self.say(f"  {line}")
        answer = self.text(
            f"Choose 1-{len(keys)}",
            default=str(keys.index(default) + 1),
            check=lambda a: None if _pick(a, keys) else f"type a number from 1 to {len(keys)}, or a name",
        )
        return _pick(answer, keys) or default

    def confirm(self, label: str, *, default: bool) -> bool:
        hint = "Y/n" if default else "y/N"
        answer = self.text(
            f"{label} [{hint}]",
            check=lambda a: None if a.lower() in ("", "y", "yes", "n", "no") else "answer y or n",
        )
        return default if not answer else answer.lower().startswith("y")


def _pick(answer: str, keys: list[str], *, prefix: bool = False) -> str | None:
    number = whole_number(answer)
    if number is not None and 1 <= number <= len(keys):
        return keys[number - 1]
    if prefix and answer:
        return next((key for key in keys if key.startswith(answer)), None)
    return answer if answer in keys else None


def _menus_work(stdin: TextIO, stdout: TextIO) -> bool:
    if os.environ.get("UNHAZZLE_PROMPT") == "plain" or os.environ.get("TERM", "dumb") == "dumb":
        return False
    try:
        return stdin.isatty() and stdout.isatty()
    except (AttributeError, ValueError):
        return False


UP, DOWN = ("\x1b[A", "k"), ("\x1b[B", "j")
ENTER, BACKSPACE, END_OF_INPUT = ("\r", "\n"), ("\x7f", "\x08"), "\x04"


class _Menu:
    """One choice as a menu: the list is redrawn in place (cursor up, clear line) on every key."""

    def __init__(self, prompter: Prompter, keys: list[str], lines: list[str], default: str) -> None:
        self.out = prompter.stdout
        self.fd = prompter.stdin.fileno()
        self.keys, self.lines = keys, lines
        self.current = keys.index(default)
        self.footer = f"Choose 1-{len(keys)} [{self.current + 1}] (arrows, number or name, Enter): "
        # Lines are cut to the terminal's width: a wrapped line would throw the redraw off.
        self.width = max(shutil.get_terminal_size().columns - 1, 20)
        self.typed = ""
        self.problem = ""

    def run(self) -> str:
        with _cbreak(self.fd):  # before drawing, so no key typed at the prompt is echoed
            self._draw(first=True)
            while True:
                key = self._key()
                if key in ENTER and not self.problem:
                    self.out.write("\n")
                    self.out.flush()
                    return self.keys[self.current]
                if key in ENTER:
                    self.typed = ""  # a wrong entry is cleared, not taken
                else:
                    self._press(key)
                self._draw()

    def _press(self, key: str) -> None:
        if key == END_OF_INPUT:
            raise KeyboardInterrupt
        if key in UP or key in DOWN:
            self.current = (self.current + (1 if key in DOWN else -1)) % len(self.keys)
            self.typed, self.problem = "", ""
            return
        self.typed = self.typed[:-1] if key in BACKSPACE else self.typed + key
        picked = _pick(self.typed, self.keys, prefix=True)
        if picked is not None:
            self.current, self.problem = self.keys.index(picked), ""
        elif self.typed:
            self.problem = f"type a number from 1 to {len(self.keys)}, or a name"

    def _key(self) -> str:
        char = os.read(self.fd, 1).decode("utf-8", "replace")
        if not char:
            raise KeyboardInterrupt
        if char == "\x1b":  # an arrow key: ESC [ A/B
            return char + os.read(self.fd, 2).decode("utf-8", "replace")
        return char

    def _draw(self, *, first: bool = False) -> None:
        if not first:
            self.out.write(f"\x1b[{len(self.lines)}A\r")
        for index, line in enumerate(self.lines):
            mark = ">" if index == self.current else " "
            self.out.write(f"\x1b[2K{f'  {mark} {line}'[: self.width]}\n")
        footer = f"{self.footer}{self.typed}"
        if self.problem:  # the problem in place of the key hint, so it fits a narrow terminal
            footer = f"{self.footer.split(' (')[0]}: {self.typed}  {self.problem}"
        self.out.write(f"\x1b[2K\r{footer[: self.width]}")
        self.out.flush()


@contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """Keys one at a time, not echoed; Ctrl-C still interrupts. TCSANOW keeps typed-ahead keys."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
