"""`unhazzle dev --cluster`: every save that validates is published to a local environment repo
and reconciled into the local cluster, so what runs follows the spec while one edits it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MINIMAL

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


def test_dev_with_the_cluster_keeps_the_running_app_in_step_with_every_save(
    cluster: Any, tmp_path: Path
) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(MINIMAL.replace("project: shop", "project: devloop"), encoding="utf-8")
    env = {**os.environ, "UNHAZZLE_CACHE_DIR": str(tmp_path / "cache")}
    argv = [
        sys.executable,
        "-m",
        "unhazzle",
        "dev",
        str(spec),
        "--cluster",
        "--state-dir",
        str(cluster.state_dir),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()

    def pump(stream: Any) -> None:
        for line in iter(stream.readline, ""):
            lines.put(line)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    seen: list[str] = []

    def until(text: str, within: float = 240) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                continue
            if text in seen[-1]:
                return
        raise AssertionError(f"never saw {text!r}:\n" + "".join(seen))

    def image() -> str:
        out = cluster.kubectl("get", "deploy", "web", "-n", "devloop-production", "-o", "json").stdout
        return str(json.loads(out)["spec"]["template"]["spec"]["containers"][0]["image"])

    try:
        until("cluster: devloop/production: healthy at")
        assert image() == "ghcr.io/acme/web:1.0"
        spec.write_text(spec.read_text().replace("web:1.0", "web:1.1"), encoding="utf-8")
        until("cluster: devloop/production: healthy at")
        assert image() == "ghcr.io/acme/web:1.1"
        spec.write_text(spec.read_text().replace("port: 8080", "port: 99999"), encoding="utf-8")
        until("error:")  # a save that does not validate reaches nothing
        assert image() == "ghcr.io/acme/web:1.1"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        cluster.kubectl("delete", "namespace", "devloop-production", "--wait=false", check=False)
    assert proc.returncode == 0, "".join(seen)
