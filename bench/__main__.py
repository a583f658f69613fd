"""`python -m bench [NAME ...]` (`make bench`): every benchmark module in this folder (or the
named ones), one after another.

What a whole run prints is also written into docs/benchmarks.md, between its `bench:begin` and
`bench:end` markers, with the date, the machine and its load: the figures the docs show are the
ones the last whole run produced, never typed by hand."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pkgutil
import re
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


def main(argv: list[str] | None = None) -> int:
    """Every benchmark in turn (or the named ones); one that fails (a peer that did not run, or
    ours) is said loudly, the others still run, and the whole exits non-zero."""
    names = sys.argv[1:] if argv is None else argv
    known = benchmarks()
    if unknown := [n for n in names if n not in known]:
        print(f"no benchmark {', '.join(unknown)}; there are: {', '.join(known)}", file=sys.stderr)
        return 2
    printed = _Tee(sys.stdout)
    failed: list[str] = []
    with contextlib.redirect_stdout(printed):
        print(f"load average at the start: {_load()}")
        if names:
            print(f"(only {', '.join(names)}, of {', '.join(known)})")
        for name in names or known:
            print(f"== bench.{name}")
            try:
                status = importlib.import_module(f"bench.{name}").main([])
            except SystemExit as exc:  # a benchmark that exits: its code says how it went
                status = exc.code
            except Exception as exc:  # reported, and the run fails
                status = f"{type(exc).__name__}: {exc}"
            if status:
                failed.append(f"bench.{name}: {status}")
                print(f"!! bench.{name} FAILED: {status}")
        print(f"load average at the end: {_load()}")
    if names:  # the page shows one whole run: a partial one would drop the others' figures
        print("(not recorded in the docs: only a whole run is)")
    else:
        record(printed.getvalue(), DOCS)
    for line in failed:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if failed else 0


# A benchmark that imports the local control plane (unhazzle.devcluster, or bench.plane) runs
# last, so that the load a plane leaves behind it for a while (its controllers, its simulated
# machines) never lands on the sub-second figures.
STARTS_A_PLANE = re.compile(
    r"^\s*(?:from|import)\s+(?:unhazzle\.devcluster|bench\.plane)\b"
    r"|^\s*from\s+bench\s+import\s+(?:.*\W)?plane\b",
    re.MULTILINE,
)


def benchmarks() -> list[str]:
    """The benchmark modules: those with a main (the peers and the chart only help them), those
    without a control plane first, each group by name."""
    folder = Path(__file__).parent
    texts = {m.name: (folder / f"{m.name}.py").read_text(encoding="utf-8")
             for m in pkgutil.iter_modules([str(folder)]) if not m.name.startswith("_")}  # fmt: skip
    mains = [n for n, text in texts.items() if "\ndef main(" in text]
    return sorted(mains, key=lambda n: (starts_a_plane(texts[n]), n))


def starts_a_plane(source: str) -> bool:
    """Whether a benchmark's *source* imports the local control plane."""
    return STARTS_A_PLANE.search(source) is not None


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" (1, 5, 15 min) on {os.cpu_count()} cores"


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
    sys.exit(main())
