"""Fixtures of the cluster tests: the control plane itself comes from tests/cluster/plugin.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.faultproxy import FaultProxy
from tests.support.reconcile import Env


@pytest.fixture
def env(tmp_path: Path, cluster: Any) -> Iterator[Env]:
    before = set(cluster.kubectl("get", "namespaces", "-o", "name").stdout.split())
    with FaultProxy(Path(cluster.kubeconfig)) as proxy:
        yield Env(tmp_path, cluster, proxy)
    # Free the simulated machines for the next test: its environments' instances are not needed.
    made = set(cluster.kubectl("get", "namespaces", "-o", "name").stdout.split()) - before
    if made:
        cluster.kubectl("delete", "--wait=false", *sorted(made), check=False)
