"""The questions `unhazzle init` asks (compiler/rules/data/questions.yaml), checked against the model
when loaded so a question can never offer an answer the spec would reject."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import get_args

from unhazzle.compiler.rules.datafiles import read_data
from unhazzle.compiler.rules.sizingtable import sizing_rules
from unhazzle.compiler.spec.model import Latency, Pattern, Region, Startup, Traffic, Workload

SIZING = ("traffic", "latency", "workload", "startup", "pattern")
_ALLOWED = {
    "region": Region,
    "traffic": Traffic,
    "latency": Latency,
    "workload": Workload,
    "startup": Startup,
    "pattern": Pattern,
}


@dataclass(frozen=True)
class Question:
    key: str
    ask: str
    explain: str
    choices: dict[str, str]  # answer -> what picking it means, in the order shown
    default: str
    # Asked of an app with no port (it serves no requests): the same answers, about its work.
    worker_ask: str = ""
    worker_choices: dict[str, str] = field(default_factory=dict)

    def wording(self, *, has_port: bool) -> tuple[str, dict[str, str]]:
        """The question and its choices, as they fit the kind of app."""
        if has_port or not self.worker_ask:
            return self.ask, self.choices
        return self.worker_ask, self.worker_choices

    def default_for(self, *, has_port: bool) -> str:
        """Workload's default depends on the port, as in the sizing rules."""
        if self.key != "workload":
            return self.default
        defaults = sizing_rules().defaults
        return defaults.workload_with_port if has_port else defaults.workload_without_port


@cache
def questions() -> dict[str, Question]:
    data = read_data("questions.yaml")
    defaults = sizing_rules().defaults.model_dump()
    defaults["workload"] = defaults["workload_with_port"]
    out = {}
    for key, allowed in _ALLOWED.items():
        row = data[key]
        choices = {str(k): str(v) for k, v in row["choices"].items()}
        if sorted(choices) != sorted(get_args(allowed)):
            raise ValueError(
                f"questions.yaml: {key} offers {sorted(choices)}, the spec takes {get_args(allowed)}"
            )
        default = str(row.get("default") or defaults[key])
        worker = row.get("worker") or {}
        worker_choices = {str(k): str(v) for k, v in (worker.get("choices") or {}).items()}
        if worker and sorted(worker_choices) != sorted(choices):
            raise ValueError(
                f"questions.yaml: {key}.worker offers {sorted(worker_choices)}, not {sorted(choices)}"
            )
        out[key] = Question(
            key,
            str(row["ask"]),
            str(row["explain"]),
            choices,
            default,
            str(worker.get("ask") or ""),
            worker_choices,
        )
    return out
