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
    assert gc.get_freeze_count() == 0, "a caller's process is never frozen"
    collector.tune_for_one_command()
    assert gc.get_threshold() != usual
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


def test_only_a_one_command_process_is_tuned_and_one_that_keeps_running_freezes_nothing_more():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"
