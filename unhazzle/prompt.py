"""Asking questions on a terminal: free text with a default, numbered choices, yes/no.

Line-based on purpose (no raw mode): it works the same over ssh, in tmux, under a screen reader
and when driven through a pseudo-terminal by the tests. Each answer is checked at once and asked
again when wrong; Ctrl-D (end of input) stops like Ctrl-C.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

Check = Callable[[str], str | None]  # answer -> problem, or None when it is fine


class Prompter:
    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

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
        for number, key in enumerate(keys, 1):
            mark = "  (default)" if key == default else ""
            self.say(f"  {number}) {key:<{width}}  {choices[key]}{mark}")
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


def _pick(answer: str, keys: list[str]) -> str | None:
    if answer.isdigit() and 1 <= int(answer) <= len(keys):
        return keys[int(answer) - 1]
    return answer if answer in keys else None
