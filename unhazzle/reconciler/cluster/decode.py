"""JSON answers from the API server, decoded with the cyclic garbage collector paused.

Why: a LIST of 200 Deployments is over a megabyte of JSON, some hundred thousand dicts and lists.
Every 700 new containers (Python's pace; 50,000 in the `unhazzle` program, shared/collector.py)
start a collection that walks the young objects, and every so often the whole heap -- including
the parsed environment and the other lists of the pass -- although nothing being decoded can be
garbage yet. Measured at Python's pace on a 200-app environment: 50-70 ms per Deployment list
with the collector, 15-25 ms without; about half of a no-change pass's decoding.
Decoded JSON holds no reference cycles, so pausing loses nothing, and reference counting still
frees everything as usual. The pause is counted, so threads decoding at the same time only
re-enable the collector when the last one is done, and only if it was enabled before.
"""

from __future__ import annotations

import gc
import json
import threading
from typing import Any

_lock = threading.Lock()
_state = {"decoding": 0, "was_enabled": 0}


def loads(data: bytes | str) -> Any:
    with _lock:
        if _state["decoding"] == 0:
            _state["was_enabled"] = int(gc.isenabled())
            gc.disable()
        _state["decoding"] += 1
    try:
        return json.loads(data)
    finally:
        with _lock:
            _state["decoding"] -= 1
            if _state["decoding"] == 0 and _state["was_enabled"]:
                gc.enable()
