"""Waiting on a cluster: ask again until the answer is truthy or the time is up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(check: Callable[[], Any], *, timeout: float = 60.0, interval: float = 0.5) -> Any:
    """The first truthy result of *check*, or its last result when *timeout* seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
