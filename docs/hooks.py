"""MkDocs hook: the sizing page's rule tables come from the rules file itself
(unhazzle/compiler/rules/data/sizing.yaml), so the docs can never disagree with what runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RULES = Path(__file__).resolve().parent.parent / "unhazzle" / "compiler" / "rules" / "data" / "sizing.yaml"
MARKER = "<!-- sizing-rules -->"
TABLES = {  # table -> what its key is, in the spec's words
    "workload": "workload",
    "traffic": "traffic",
    "pattern": "pattern",
    "latency": "latency",
    "startup": "startup",
}


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|")


def _table(name: str, rows: dict[str, dict[str, Any]]) -> str:
    fields = [f for f in next(iter(rows.values())) if f != "why"]
    head = f"| {TABLES[name]} | " + " | ".join(f"`{f}`" for f in fields) + " | why |"
    lines = [head, "| " + " | ".join(["---"] * (len(fields) + 2)) + " |"]
    for key, row in rows.items():
        values = " | ".join(_cell(row.get(f, "")) for f in fields)
        lines.append(f"| `{key}` | {values} | {_cell(row.get('why', ''))} |")
    return "\n".join(lines)


def sizing_tables(rules: dict[str, Any]) -> str:
    parts = ["Generated from `unhazzle/compiler/rules/data/sizing.yaml` when the docs are built."]
    defaults = ", ".join(f"{k}: `{v}`" for k, v in rules.get("defaults", {}).items())
    parts.append(f"Answers left out default to {defaults}.")
    for name in TABLES:
        parts.append(f"### {name.capitalize()}\n\n{_table(name, rules[name])}")
    checks = ", ".join(f"`{k}`: {v}" for k, v in rules.get("checks", {}).items())
    parts.append(f"### Health checks\n\nFor every app: {checks}.")
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return markdown.replace(MARKER, sizing_tables(rules))
