"""The cycle collector's pace in a process that runs one `unhazzle` command (cli.program).

A command that ends within seconds allocates mostly acyclic data, which reference counting frees;
the collector's passes over it were 3-7% of render, preview and publish. The reconciler's loop is
alike within a pass (it decodes every live object of every environment, hundreds of thousands of
dicts and lists, freed when the pass ends), so it collects between its passes instead
(`between_passes`); `reconcile --once` is paced as one command. Never changed in a caller's
process (tests, an embedding program): only after `tune_for_one_command`.
"""

from __future__ import annotations

import gc

# Python's pace before tune_for_one_command; None again once the command keeps running (then
# nothing more is frozen).
_usual: tuple[int, int, int] | None = None
_own = False  # tune_for_one_command ran: this process is the `unhazzle` program's own
YOUNG = 50_000  # net new containers between two collections of the young (Python's usual: 700)


def tune_for_one_command() -> None:
    """Collect young objects far less often, for the rest of this process."""
    global _usual, _own
    if not _own:
        _usual, _own = gc.get_threshold(), True
        gc.set_threshold(YOUNG, 20, 20)


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


def between_passes() -> None:
    """Before each pass of a loop (the reconciler's), when what the last one decoded is freed:
    collect the young and middle generations, and the whole heap every tenth time (Python's own
    ratio). During the next pass the young are collected only past YOUNG net new containers. At
    Python's pace the collections walked each LIST's objects once or twice as they were decoded,
    and the parsed revision with every whole-heap collection, none of it garbage. Cyclic garbage
    is still freed by the next pass (the whole heap's within ten). Only in the program's own process."""
    if not _own:
        return
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
    gc.collect(2 if gc.get_count()[2] >= old else 1)
