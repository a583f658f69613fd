"""How busy each instance is, against the app's size. Pure: the metrics API's answer and the
instances' specs in, rows out (CPU in cores, memory in MB, as sizes are written in the spec)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unhazzle.reconciler import words
from unhazzle.reconciler.overview import APP_LABEL, instance_id

Obj = dict[str, Any]


@dataclass(frozen=True)
class Usage:
    app: str
    instance: str
    cpu: float
    cpu_limit: float | None
    memory_mb: int
    memory_limit_mb: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "instance": self.instance,
            "cpu": round(self.cpu, 3),
            "cpu_limit": self.cpu_limit,
            "memory_mb": self.memory_mb,
            "memory_limit_mb": self.memory_limit_mb,
        }

    def text(self) -> str:
        cpu = f"CPU {self.cpu:.2f}" + (
            f" of {self.cpu_limit:g} ({_pct(self.cpu, self.cpu_limit)})" if self.cpu_limit else ""
        )
        memory = f"memory {self.memory_mb} MB" + (
            f" of {self.memory_limit_mb} MB ({_pct(self.memory_mb, self.memory_limit_mb)})"
            if self.memory_limit_mb
            else ""
        )
        return f"{self.app} [{self.instance}]  {cpu}, {memory}"


def _pct(value: float, limit: float | None) -> str:
    return f"{round(100 * value / limit)}%" if limit else "?"


def usage_rows(metrics: list[Obj], pods: list[Obj], *, only: str | None = None) -> list[Usage]:
    """One row per instance the metrics API measured, for our apps (or the one named)."""
    by_name = {p.get("metadata", {}).get("name"): p for p in pods}
    rows = []
    for item in metrics:
        name = item.get("metadata", {}).get("name")
        pod = by_name.get(name)
        app = (pod or {}).get("metadata", {}).get("labels", {}).get(APP_LABEL)
        if pod is None or app is None or (only and app != only):
            continue
        spec, _ = words.main_container(pod, app)
        measured = next((c for c in item.get("containers") or [] if c.get("name") == spec.get("name")), None)
        if measured is None:
            continue
        limits = spec.get("resources", {}).get("limits", {})
        rows.append(Usage(
            app=app,
            instance=instance_id(str(name), app),
            cpu=words.cpu_cores(measured.get("usage", {}).get("cpu")) or 0.0,
            cpu_limit=words.cpu_cores(limits.get("cpu")),
            memory_mb=words.quantity_mb(measured.get("usage", {}).get("memory")) or 0,
            memory_limit_mb=words.quantity_mb(limits.get("memory")),
        ))  # fmt: skip
    return sorted(rows, key=lambda r: (r.app, r.instance))
