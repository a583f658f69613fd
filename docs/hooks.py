"""MkDocs hook: the rule tables on the sizing page are built from the rules file itself
(unhazzle/compiler/rules/data/sizing.yaml, with the wording of questions.yaml), so the docs can
never disagree with what runs. A new answer, column or table in the file shows up on the next
build; nothing here names a number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "unhazzle" / "compiler" / "rules" / "data"
MARKER = "<!-- sizing-rules -->"
NOT_TABLES = ("defaults", "checks")

# The file's keys in the reader's words; a key not listed here is shown as it is written.
LABELS = {
    "cpu": "CPU (vCPU)",
    "cpu_limit_factor": "may burst to (x CPU)",
    "memory_mb": "memory (MB)",
    "min": "instances at least",
    "max": "instances at most",
    "max_factor": "at most x",
    "scale_up_cooldown_s": "add after (s of load)",
    "scale_down_cooldown_s": "remove after (s)",
    "scale_down_percent": "remove at most (% a minute)",
    "target_cpu_percent": "add instances at (% CPU)",
    "min_instances_serving": "never fewer than (apps with a port)",
    "readiness_period_s": "ready check every (s)",
    "budget_s": "may take to start (s)",
    "period_s": "start check every (s)",
    "scale_up_pods": "add at most (instances)",
    "scale_up_percent": "or at most (%)",
    "scale_up_period_s": "per (s)",
    "spare_when_spiky": "spare instances when spiky",
    "readiness_failures": "ready check: failures before out of service",
    "readiness_timeout_s": "ready check: timeout (s)",
    "liveness_period_s": "alive check every (s)",
    "liveness_failures": "alive check: failures before a restart",
    "liveness_timeout_s": "alive check: timeout (s)",
}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        value = f"{value:g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _default_note(table: str, answer: str, defaults: dict[str, Any]) -> str:
    """' (default)' or ' (default with port)' when *answer* is what a left-out answer becomes."""
    notes = []
    for key, value in defaults.items():
        if value == answer and (key == table or key.startswith(f"{table}_")):
            notes.append(("default " + key[len(table) :].replace("_", " ").strip()).strip())
    return f" ({', '.join(notes)})" if notes else ""


def _table(
    name: str, rows: dict[str, dict[str, Any]], *, defaults: dict[str, Any], means: dict[str, str]
) -> str:
    fields = [f for f in next(iter(rows.values())) if f != "why"]
    head = ["answer", "means", *(LABELS.get(f, f"`{f}`") for f in fields), "why"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for answer, row in rows.items():
        cells = [
            f"`{answer}`{_default_note(name, answer, defaults)}",
            _cell(means.get(answer, "")),
            *(_cell(row.get(f, "")) for f in fields),
            _cell(row.get("why", "")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    keys = ", ".join(f"`{f}`" for f in fields)
    lines += ["", f"Keys in the file: {keys}, and `why`."]
    return "\n".join(lines)


def sizing_tables(rules: dict[str, Any], questions: dict[str, Any]) -> str:
    defaults = rules.get("defaults", {})
    parts = [
        "Built from `unhazzle/compiler/rules/data/sizing.yaml` (and the questions' wording in "
        "`questions.yaml`) each time these pages are built."
    ]
    left_out = "; ".join(f"{k.replace('_', ' ')}: `{v}`" for k, v in defaults.items())
    parts.append(f"An answer left out takes its default: {left_out}.")
    for name, rows in rules.items():
        if name in NOT_TABLES or not isinstance(rows, dict) or not rows:
            continue
        question = questions.get(name, {})
        intro = f"*{question['ask']}* It {question['explain']}." if "ask" in question else ""
        table = _table(name, rows, defaults=defaults, means=question.get("choices", {}))
        parts.append(f"### {name.capitalize()}\n\n{intro}\n\n{table}".replace("\n\n\n", "\n\n"))
    checks = rules.get("checks", {})
    if checks:
        rows = "\n".join(f"| {LABELS.get(k, f'`{k}`')} | `{k}` | {_cell(v)} |" for k, v in checks.items())
        parts.append(
            "### Health checks, for every app with a port\n\n"
            "| what | key | value |\n| --- | --- | --- |\n" + rows
        )
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    rules = yaml.safe_load((DATA / "sizing.yaml").read_text(encoding="utf-8"))
    questions_file = DATA / "questions.yaml"
    questions = yaml.safe_load(questions_file.read_text(encoding="utf-8")) if questions_file.exists() else {}
    return markdown.replace(MARKER, sizing_tables(rules, questions or {}))
