"""`python -m bench` (`make bench`): every benchmark module in this folder, one after another.

What they print is also written into docs/benchmarks.md, between its `bench:begin` and
`bench:end` markers, with the date, the machine and its load: the figures the docs show are the
ones the last run produced, never typed by hand."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pkgutil
import sys
import typing
from datetime import UTC, datetime
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


class _Tee(io.StringIO):
    """Keeps what is printed and shows it as it comes (a run takes minutes)."""

    def __init__(self, shown: io.TextIOBase | typing.TextIO) -> None:
        super().__init__()
        self.shown = shown

    def write(self, text: str) -> int:
        self.shown.write(text)
        self.shown.flush()
        return super().write(text)


def main() -> None:
    printed = _Tee(sys.stdout)
    with contextlib.redirect_stdout(printed):
        for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
            if not module.startswith("_"):
                print(f"== bench.{module}")
                importlib.import_module(f"bench.{module}").main()
    record(printed.getvalue())


def record(output: str, docs: Path = DOCS) -> None:
    """Put *output* between the markers of the benchmarks page (nothing else of it changes)."""
    try:
        page = docs.read_text(encoding="utf-8")
    except OSError:
        print(f"(not recorded: {docs} cannot be read)")
        return
    if BEGIN not in page or END not in page:
        print(f"(not recorded: {docs} has no {BEGIN} ... {END} block)")
        return
    head, rest = page.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"\nLast run: {when}, {os.cpu_count()} cores, load average {load} (1, 5, 15 min).\n\n"
    block += "```text\n" + output.rstrip() + "\n```\n"
    docs.write_text(head + BEGIN + block + END + tail, encoding="utf-8")
    print(f"(recorded in {docs})")


if __name__ == "__main__":
    main()
