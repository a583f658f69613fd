"""`unhazzle dev`: re-checks on every save, prints only what changed, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from tests.conftest import MINIMAL
from unhazzle.commands.dev import watch


def _next(lines: queue.Queue[str], want: str, timeout: float = 40) -> list[str]:
    seen: list[str] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if want in line:
            return seen
    raise AssertionError(f"never printed {want!r}; printed {seen}")


def test_dev_prints_only_what_changed_on_each_save(write_spec):
    spec = write_spec(MINIMAL)
    lines: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(target=watch, args=(spec, lines.put, stop), daemon=True)
    worker.start()
    try:
        first = _next(lines, "watching")
        assert first[0] == "OK" and any(line.startswith("web (production): instances") for line in first)
        time.sleep(0.5)
        spec.write_text(MINIMAL.replace("port: 8080", "port: 8080\n    instances: {min: 2, max: 5}"))
        changed = _next(lines, "~ web (production)")
        assert changed[-1] == "~ web (production): instances 1-3 -> 2-5, cost 0.36-1.08 EUR -> 0.72-1.80 EUR"
        totals = _next(lines, "~ total")
        assert totals == ["~ environment production: cost 0.36-1.08 EUR -> 0.72-1.80 EUR", totals[-1]]
        spec.write_text(MINIMAL.replace("region: fsn1", "region: mars"))
        errors = _next(lines, "error: region")
        assert errors[-1].startswith(f"{spec}:3:9: error: region:")
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


def test_dev_watches_the_spec_not_the_folders_under_it(write_spec, tmp_path):
    """A spec at the top of a repository: saving a file of the same name deeper down (an example,
    a vendored copy) is not a save of the spec, and node_modules or .git are never walked."""
    spec = write_spec(MINIMAL)
    (tmp_path / "examples").mkdir()
    lines: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(target=watch, args=(spec, lines.put, stop), daemon=True)
    worker.start()
    try:
        _next(lines, "watching")
        time.sleep(0.5)
        spec.write_text(MINIMAL.replace("port: 8080", "port: 8081"))
        _next(lines, "OK: no change")  # the watch is live
        (tmp_path / "examples" / "unhazzle.yaml").write_text(MINIMAL.replace("region: fsn1", "region: mars"))
        time.sleep(1.5)  # seven debounce periods: a check would have printed by now
        assert lines.empty(), lines.get()
        spec.write_text(MINIMAL.replace("region: fsn1", "region: mars"))
        assert _next(lines, "error: region")[-1].startswith(f"{spec}:3:9: error: region:")
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


def test_dev_ctrl_c_exits_zero(write_spec):
    spec = write_spec(MINIMAL)
    proc = subprocess.Popen(
        [sys.executable, "-m", "unhazzle", "dev", str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("watching"):
            break
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err
