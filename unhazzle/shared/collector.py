"""The cycle collector's pace in a process that runs one `unhazzle` command (cli.program).

A command that ends within seconds allocates mostly acyclic data, which reference counting frees;
the collector's passes over it were 3-7% of render, preview and publish. Never changed in a
caller's process (tests, an embedding program): only after `tune_for_one_command`.
"""

from __future__ import annotations

import gc

_usual: tuple[int, int, int] | None = None  # the pace before tune_for_one_command, while tuned


def tune_for_one_command() -> None:
    """Collect young objects far less often, for the rest of this process."""
    global _usual
    if _usual is None:
        _usual = gc.get_threshold()
        gc.set_threshold(50_000, 20, 20)


def keep_what_is_loaded() -> None:
    """What was made so far (modules, pydantic models, the parser) lives to the end of the process:
    no later collection walks it again. Called after the arguments are read and again each time
    the command compiles (the compiler is imported then). Once a command that keeps running has
    its usual pace back, never again: what it froze, cyclic garbage included, would never be freed."""
    if _usual is not None:
        gc.freeze()


def usual_pace() -> None:
    """The usual pace again, for a command that keeps running (a service, a loop, a stream)."""
    global _usual
    if _usual is not None:
        gc.set_threshold(*_usual)
        _usual = None
