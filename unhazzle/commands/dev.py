"""`unhazzle dev [SPEC]`: validate and plan again on every save, printing only what changed."""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from unhazzle.commands.common import add_spec, compile_spec
from unhazzle.compiler.presentation.devloop import Snapshot, changes, describe, snapshot
from unhazzle.errors import InputError

Emit = Callable[[str], None]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dev",
        help="watch the spec and show what each save changes",
        description="Watch the spec; on every save, validate and plan it again and print only what "
        "changed (instances, size, monthly cost). Stop with Ctrl-C.",
    )
    add_spec(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    def emit(line: str) -> None:
        print(line, flush=True)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops: a clean exit
        watch(Path(args.spec), emit)
    emit("stopped")
    return 0


def watch(spec: Path, emit: Emit, stop: threading.Event | None = None) -> None:
    """Check once, then after every change to *spec* until Ctrl-C or *stop* is set."""
    from watchfiles import watch as watch_files  # only this command needs it

    last = check(spec, None, emit)
    emit(f"watching {spec} (Ctrl-C to stop)")
    # The folder, not the file: editors save by writing a new file and renaming it over the old.
    folder, name = spec.resolve().parent, spec.resolve().name
    for batch in watch_files(folder, stop_event=stop, raise_interrupt=False, debounce=200):
        if any(Path(path).name == name for _, path in batch):
            last = check(spec, last, emit)


def check(spec: Path, last: Snapshot | None, emit: Emit) -> Snapshot | None:
    """Compile *spec*; print its problems, or what changed since *last*. Returns the new snapshot."""
    try:
        now = snapshot(compile_spec(str(spec)))
    except InputError as exc:
        for line in exc.lines():
            emit(line)
        return last
    if last is None:
        lines = ["OK", *describe(now)]
    else:
        lines = changes(last, now) or ["OK: no change in instances, size or cost"]
    for line in lines:
        emit(line)
    return now
