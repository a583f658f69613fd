"""Per-environment status, written to the ConfigMap `unhazzle-status` in the environment's
namespace (key `status.json`), where `unhazzle status` reads it. Written only when something a
reader cares about changed, so a quiet cluster sees no writes: timings ride along with a change."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.sync.inventory import STATUS_LABEL, STATUS_NAME, bookkeeping_configmap


@dataclass(frozen=True)
class EnvStatus:
    environment: str  # "project/environment"
    namespace: str
    revision: str  # the commit last applied successfully ("" before the first)
    wanted_revision: str  # the newest commit seen for this environment
    health: str  # healthy | progressing | failed | unknown | removed
    waiting: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    objects: int = 0
    drift_corrected: int = 0  # objects re-applied because someone changed them (running total)
    applied: int = 0  # objects created or configured by the last change
    pruned: int = 0  # objects deleted by the last change
    updated_at: str = ""  # when this status last changed (UTC, ISO 8601)
    applied_at: str = ""  # when the last change was applied: what "applied 5 min ago" counts from
    timings_s: dict[str, float] = field(default_factory=dict)
    deploys: list[dict[str, Any]] = field(default_factory=list)  # how each ended (sync/verdicts.py)

    def essence(self) -> dict[str, Any]:
        """What decides whether the status must be written again: all but time and timings."""
        data = asdict(self)
        data.pop("updated_at")
        data.pop("timings_s")
        return data


def to_configmap(status: EnvStatus) -> Obj:
    data = {"status.json": json.dumps(asdict(status), sort_keys=True, indent=2)}
    return bookkeeping_configmap(STATUS_NAME, status.namespace, status.environment, STATUS_LABEL, data)


def from_configmap(obj: Obj | None) -> EnvStatus | None:
    if obj is None:
        return None
    try:
        data = json.loads((obj.get("data") or {})["status.json"])
        return EnvStatus(**data)
    except (KeyError, ValueError, TypeError):
        return None  # unreadable: the next write replaces it
