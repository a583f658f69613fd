"""How busy each instance is, against the app's size. Pure: the metrics API's answer and the
instances' specs in, rows out (CPU in cores, memory in MB, as sizes are written in the spec)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from unhazzle.observe import words
from unhazzle.observe.overview import instance_id
from unhazzle.shared.names import APP_LABEL, JOB_LABEL
from unhazzle.shared.quantity import quantity_mb

Obj = dict[str, Any]


@dataclass(frozen=True)
class Usage:
    """One instance: what it uses, against its size (the spec's `size`, which the autoscaler's
    percentages are also relative to) and its limit (CPU may burst above the size up to it)."""

    app: str
    instance: str
    cpu: float
    cpu_size: float | None
    cpu_limit: float | None
    memory_mb: int
    memory_size_mb: int | None
    memory_limit_mb: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "instance": self.instance,
            "cpu": round(self.cpu, 3),
            "cpu_size": self.cpu_size,
            "cpu_limit": self.cpu_limit,
            "cpu_percent_of_size": _percent(self.cpu, self.cpu_size),
            "memory_mb": self.memory_mb,
            "memory_size_mb": self.memory_size_mb,
            "memory_limit_mb": self.memory_limit_mb,
            "memory_percent_of_size": _percent(self.memory_mb, self.memory_size_mb),
        }

    def text(self) -> str:
        burst = self.cpu_limit if self.cpu_size and (self.cpu_limit or 0) > self.cpu_size else None
        cpu = f"CPU {self.cpu:.2f}" + _against(
            self.cpu, self.cpu_size or self.cpu_limit, "", f", may burst to {burst:g}" if burst else ""
        )
        size = self.memory_size_mb or self.memory_limit_mb
        memory = f"memory {self.memory_mb} MB" + _against(self.memory_mb, size, " MB", "")
        return f"{self.app} [{self.instance}]  {cpu}, {memory}"


def _percent(value: float, whole: float | None) -> int | None:
    return round(100 * value / whole) if whole else None


def _against(value: float, whole: float | None, unit: str, extra: str) -> str:
    return f" of {whole:g}{unit} ({_percent(value, whole)}%{extra})" if whole else ""


def usage_rows(metrics: list[Obj], pods: list[Obj], *, only: str | None = None) -> list[Usage]:
    """One row per instance the metrics API measured, for our apps and jobs' runs in progress
    (or the one named)."""
    by_name = {p.get("metadata", {}).get("name"): p for p in pods}
    rows = []
    for item in metrics:
        name = item.get("metadata", {}).get("name")
        pod = by_name.get(name)
        labels = (pod or {}).get("metadata", {}).get("labels", {})
        app = labels.get(APP_LABEL) or labels.get(JOB_LABEL)
        if pod is None or app is None or (only and app != only):
            continue
        spec, _ = words.main_container(pod, app)
        measured = next((c for c in item.get("containers") or [] if c.get("name") == spec.get("name")), None)
        if measured is None:
            continue
        resources = spec.get("resources", {})
        limits, requests = resources.get("limits", {}), resources.get("requests", {})
        rows.append(Usage(
            app=app,
            instance=instance_id(str(name), app),
            cpu=words.cpu_cores(measured.get("usage", {}).get("cpu")) or 0.0,
            cpu_size=words.cpu_cores(requests.get("cpu")),
            cpu_limit=words.cpu_cores(limits.get("cpu")),
            memory_mb=quantity_mb(measured.get("usage", {}).get("memory")) or 0,
            memory_size_mb=quantity_mb(requests.get("memory")),
            memory_limit_mb=quantity_mb(limits.get("memory")),
        ))  # fmt: skip
    return sorted(rows, key=lambda r: (r.app, r.instance))
