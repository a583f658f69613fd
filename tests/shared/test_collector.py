"""The cycle collector's pace in a process that runs one command (shared/collector.py), checked
in a process of its own: the pace is the process's, and pytest's must not change."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """\
    import gc
    from unhazzle.shared import collector

    usual = gc.get_threshold()
    collector.keep_what_is_loaded()
    collector.between_passes()
    assert gc.get_freeze_count() == 0, "a caller's process is never frozen"
    assert gc.get_threshold() == usual, "nor is its pace changed"
    collector.tune_for_one_command()
    assert gc.get_threshold() == (collector.YOUNG, 20, 20)
    collector.keep_what_is_loaded()
    frozen = gc.get_freeze_count()
    assert frozen > 0, "what a one-command process loaded is kept out of later collections"
    collector.usual_pace()
    assert gc.get_threshold() == usual
    made = [[n] for n in range(1000)]
    collector.keep_what_is_loaded()
    assert gc.get_freeze_count() <= frozen, "a process that keeps running freezes nothing more"
    print("ok")
    """
)

# A loop's passes: what a pass leaves in a reference cycle is gone after the pass ends, though
# the pass made far fewer new containers than it takes to start a collection.
BETWEEN_PASSES = textwrap.dedent(
    """\
    import gc, weakref
    from unhazzle.shared import collector

    class Node:
        pass

    usual = gc.get_threshold()
    collector.tune_for_one_command()
    collector.usual_pace()
    for _ in range(25):
        cycle = Node()
        cycle.me = cycle
        left = weakref.ref(cycle)
        del cycle
        collector.between_passes()
        assert left() is None, "a cycle left by a pass is freed at its end"
        assert gc.get_threshold() == (collector.YOUNG, *usual[1:])
    gc.disable()  # from now on only between_passes collects
    old = Node()
    old.me = old
    gc.collect(1)  # ... once the cycle is in the oldest generation
    gc.collect(1)
    left = weakref.ref(old)
    del old
    for _ in range(usual[2]):
        collector.between_passes()
    assert left() is None, "a cycle in the oldest generation is freed within ten passes"
    print("ok")
    """
)


def run(check: str) -> str:
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_only_the_programs_own_process_is_tuned_and_one_that_keeps_running_freezes_nothing_more():
    assert run(CHECK) == "ok\n"


def test_a_loop_frees_the_cycles_a_pass_left_at_its_end():
    assert run(BETWEEN_PASSES) == "ok\n"
