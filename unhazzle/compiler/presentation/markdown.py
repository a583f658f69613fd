"""Markdown for people: the plan (`plan --output markdown`) and the pull-request preview comment.

Pure: data in, text out. The preview is drawn from the same dict `preview --output json` prints.
Every table cell is escaped, and every code fence is longer than any backtick run it holds, so no
app name, setting or manifest can break the comment's layout.
"""

from __future__ import annotations

import re
from typing import Any

from unhazzle.compiler.planning.cost import PlanCost
from unhazzle.compiler.planning.plan import Plan
from unhazzle.compiler.presentation.preview import MARKER
from unhazzle.compiler.presentation.report import eur_range, prices_line, warnings, where


def cell(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return re.sub(r"([<>*_`\[\]])", r"\\\1", text)


def prose(value: object) -> str:
    """A sentence of ours for a list item: escaped as a cell, except the `commands` we quote in
    backticks, which stay code spans (a code span shows its text as is, so it needs no escape)."""
    parts = re.split(r"(`[^`\n]+`)", str(value).replace("\n", " "))
    return "".join(
        part if part.startswith("`") and part.endswith("`") and len(part) > 1 else cell(part)
        for part in parts
    )


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def fenced(text: str, lang: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", text.rstrip("\n"), fence]


def _instances(inst: dict[str, int]) -> str:
    return str(inst["min"]) if inst["min"] == inst["max"] else f"{inst['min']}–{inst['max']}"


def _size(size: dict[str, Any], volume_gb: float | None = None) -> str:
    text = f"{size['cpu']:g} vCPU · {size['memory_mb']} MB"
    return text + (f" · {volume_gb:g} GB disk" if volume_gb else "")


def _delta(value: float) -> str:
    return "" if round(value, 2) == 0 else f" ({value:+.2f})"


# --- plan --------------------------------------------------------------------------------------


def plan_markdown(plan: Plan, cost: PlanCost) -> str:
    lines = [f"## {cell(plan.project)} (region {plan.region})", ""]
    for env in plan.environments:
        env_cost = cost.environments[env.name]
        budget = f", budget {env.budget.max_monthly_eur:g} EUR" if env.budget else ""
        lines += [
            f"### {cell(env.name)} · `{env.badge}` · {eur_range(env_cost.min, env_cost.max)} a month{budget}",
            "",
        ]
        rows = [
            [
                cell(a.name),
                _instances({"min": a.sizing.min_instances, "max": a.sizing.max_instances}),
                cell(_size({"cpu": a.sizing.cpu_request, "memory_mb": a.sizing.memory_request_mb})),
                f"{env_cost.apps[a.name].min:.2f}",
                f"{env_cost.apps[a.name].max:.2f}",
                cell(a.address or "—"),
            ]
            for a in env.apps
        ]
        lines += table(
            ["app", "instances", "size", "EUR/month at min", "EUR/month at max", "internal URL"], rows
        )
        if env.jobs:
            job_rows = [
                [
                    cell(j.name),
                    cell(f"{j.job.schedule} ({j.job.timezone})"),
                    cell(_size({"cpu": j.size.cpu_request, "memory_mb": j.size.memory_mb})),
                    f"{env_cost.jobs[j.name].month:.2f}",
                ]
                for j in env.jobs
            ]
            lines += ["", *table(["job", "schedule", "size", "EUR/month, at most"], job_rows)]
        lines.append("")
    low, high = cost.total([env.name for env in plan.environments])
    lines += [
        f"**Total:** {eur_range(low, high)} a month at minimum–maximum scale.",
        "",
        cell(prices_line(cost)),
    ]
    notes = warnings(plan)
    if notes:
        lines += ["", "### Warnings", ""]
        lines += [f"- **{cell(w['app'])}** ({cell(where(w))}): {prose(w['message'])}" for w in notes]
    return "\n".join(lines) + "\n"


# --- preview -----------------------------------------------------------------------------------


WARNINGS_SHOWN = 25
ROWS_SHOWN = 50  # apps, jobs and secrets a brief comment lists by name, shared by the environments
COMMENT_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters; leave room for the rest
CUT = "\n\n… the rest is cut to fit a pull-request comment: `unhazzle preview --output json` has it all.\n"


def preview_markdown(data: dict[str, Any]) -> str:
    """The comment, at most COMMENT_LIMIT characters: when the manifest diffs would make it too
    long for a pull request, they give way to a line saying how to see them; when it is still too
    long (hundreds of apps), the comment goes brief (names give way to counts), and as a last
    resort it is cut at a line."""
    for diffs, brief in ((True, False), (False, False), (False, True)):
        text = _preview_markdown(data, diffs=diffs, brief=brief)
        if len(text) <= COMMENT_LIMIT:
            return text
    return text[: text.rfind("\n", 0, COMMENT_LIMIT - len(CUT))] + CUT


def _preview_markdown(data: dict[str, Any], *, diffs: bool, brief: bool = False) -> str:
    head = [MARKER, f"## Unhazzle preview · {cell(data['project'])}", ""]
    if data["status"] == "unchanged":
        rollbacks = ["", *_rollback_section(data["rollbacks"])] if data.get("rollbacks") else []
        return "\n".join([*head, cell(data["headline"]), *rollbacks]) + "\n"
    lines = [*head, f"**{cell(data['headline'])}**", ""]
    money = data["cost_eur_month"]
    lines.append(
        f"At minimum scale: {money['head']['min']:.2f} EUR a month{_delta(money['change']['min'])}. "
        "Euros a month, net of VAT, from Hetzner's dated price table."
    )
    if data.get("base_note"):
        lines += ["", f"_{cell(data['base_note'])}_"]
    if data.get("budget"):
        lines += ["", "Project " + _budget_text(data["budget"])]
    if data.get("rollbacks"):
        lines += ["", *_rollback_section(data["rollbacks"])]
    if data.get("volumes"):
        lines += ["", *_volume_section(data["volumes"])]
    for env in data["environments"]:
        rows = max(5, ROWS_SHOWN // len(data["environments"])) if brief else None
        lines += ["", *_env_section(env, diffs=diffs, rows=rows)]
    if data.get("secret_changes"):
        lines += ["", "### Secrets", "", "Values are never shown; only which names changed.", ""]
        changes = data["secret_changes"]
        shown = changes[:ROWS_SHOWN] if brief else changes
        lines += [f"- {cell(c['environment'])} · `{c['app']}`: `{c['name']}` {c['change']}" for c in shown]
        if len(shown) < len(changes):
            lines.append(f"- … and {len(changes) - len(shown)} more.")
    if data["warnings"]:
        lines += ["", "### Warnings", "", *_warning_lines(data["warnings"])]
    return "\n".join(lines) + "\n"


def _rollback_section(rollbacks: list[dict[str, Any]]) -> list[str]:
    lines = ["### ⏪ Rollback in force", ""]
    for back in rollbacks:
        when = str(back["at"])[:16].replace("T", " ")
        what = f"`{back['what']}` was rolled back from `{str(back['from'])[:12]}` ({when})"
        if back["would_redeploy"]:
            lines.append(
                f"- {what}: this change would deploy that version again, so `unhazzle publish` refuses "
                "it without `--replace-rollback`."
            )
        else:
            lines.append(
                f"- {what}: this change deploys another version, so publishing it ends the rollback."
            )
    return lines


def _volume_section(volumes: dict[str, Any]) -> list[str]:
    """First after the cost: a deleted disk is the one change nobody can take back."""
    title = "### ⚠️ Data on volumes will be lost" if volumes["data_lost"] else "### Volumes"
    lines = [title, "", *[f"- {prose(c['message'])}." for c in volumes["changes"]]]
    if volumes["data_lost"]:
        lines += ["", f"`unhazzle publish` refuses this unless given `{volumes['allow_flag']}`."]
    if not all(c["possible"] for c in volumes["changes"]):
        lines += [
            "",
            "`unhazzle publish` refuses a smaller volume: a disk cannot shrink (`--allow-smaller-volume` "
            "is only for a disk the cluster refused to grow).",
        ]
    return lines


def _warning_lines(warnings: list[dict[str, Any]]) -> list[str]:
    """At most WARNINGS_SHOWN: a comment is read on a phone; the plan has the full list."""
    lines = [
        f"- **{cell(w['app'])}** ({cell(where(w))}): {prose(w['message'])}" for w in warnings[:WARNINGS_SHOWN]
    ]
    hidden = len(warnings) - WARNINGS_SHOWN
    if hidden > 0:
        lines.append(f"- … and {hidden} more: run `unhazzle plan` to see them all.")
    return lines


def _budget_text(budget: dict[str, Any]) -> str:
    mark = "✅ within" if budget["within"] else "❌ over"
    used, limit = budget["max_cost_eur"], budget["max_monthly_eur"]
    return f"budget: {used:.2f} of {limit:g} EUR a month at maximum scale ({mark})."


def _env_section(env: dict[str, Any], *, diffs: bool, rows: int | None) -> list[str]:
    """*rows*: how many changed apps, and jobs, a brief comment lists (None: all of them)."""
    brief = rows is not None
    s = env["summary"]
    title = f"### {cell(env['name'])} · `{env['badge']}`"
    if env["status"] == "unchanged":
        return [title, "", "No changes."]
    status = {"added": " · new environment", "removed": " · removed environment"}.get(env["status"], "")
    money = env["cost_eur_month"]
    lines = [
        f"{title}{status} · {s['added']} added, {s['changed']} changed, {s['removed']} removed",
        "",
        f"{money['head']['min']:.2f}{_delta(money['change']['min'])} EUR a month at minimum scale, "
        f"{money['head']['max']:.2f}{_delta(money['change']['max'])} at maximum scale.",
        "",
    ]
    changed = [a for a in env["apps"] if a["status"] != "unchanged"]
    shown = changed[:rows]
    if shown:
        lines += table(
            ["app", "change", "instances", "size", "EUR/month at min", "EUR/month at max"],
            [_app_row(a) for a in shown],
        )
    if len(shown) < len(changed):
        lines += ["", f"… and {len(changed) - len(shown)} more apps changed."]
    jobs = [j for j in env.get("jobs", []) if j["status"] != "unchanged"]
    if jobs:
        header = ["job", "change", "schedule", "size", "EUR a run, at most", "EUR/month"]
        lines += [*([""] if shown else []), *table(header, [_job_row(j) for j in jobs[:rows]])]
    if len(jobs[:rows]) < len(jobs):
        lines += ["", f"… and {len(jobs) - len(jobs[:rows])} more jobs changed."]
    same = [a["name"] for a in [*env["apps"], *env.get("jobs", [])] if a["status"] == "unchanged"]
    if same:
        names = f"{len(same)} apps and jobs" if brief else ", ".join(cell(n) for n in same)
        lines += ["", f"Unchanged: {names}."]
    if env.get("budget"):
        lines += ["", "Environment " + _budget_text(env["budget"])]
    lines += [] if brief else _urls_and_secrets(env)
    return lines + (_diff_blocks(env) if diffs else _diff_summary(env, brief=brief))


def _app_row(app: dict[str, Any]) -> list[str]:
    before = app["before"]
    inst = _instances(app["instances"])
    size = _size(app["size"], app["volume_gb"])
    if before and app["status"] == "changed":
        inst += "" if before["instances"] == app["instances"] else f" (was {_instances(before['instances'])})"
        old = _size(before["size"], before["volume_gb"])
        size += "" if old == size else f" (was {old})"
    cost = app["cost_eur_month"]
    renamed = f" (renamed from {app['renamed_from']}?)" if app.get("renamed_from") else ""
    what = _what_changed(app, shown=("instances", "size"), rotated="new secret values: restarts")
    return [
        cell(app["name"]),
        cell(app["status"] + renamed + what),
        cell(inst),
        cell(size),
        f"{cost['min']:.2f}{_delta(app['cost_change']['min'])}",
        f"{cost['max']:.2f}{_delta(app['cost_change']['max'])}",
    ]


def _what_changed(row: dict[str, Any], *, shown: tuple[str, ...], rotated: str) -> str:
    """` (image 1.4.2 → 1.4.3, settings)`: what of an app or job changed, but for the parts
    its own columns show; "" when nothing else did."""
    what = [
        _image_change(row["before"]["image"], row["image"]) if part == "image" else part.replace("_", " ")
        for part in row.get("changes", [])
        if part not in shown
    ]
    what += [rotated] if row.get("secret_values_changed") else []
    return f" ({', '.join(what)})" if what else ""


def _image_change(was: str, now: str) -> str:
    """`image 1.4.2 → 1.4.3` when only the tag or digest changed, else both references whole."""

    def split(ref: str) -> tuple[str, str]:
        at = ref.rfind("@") if "@" in ref else ref.rfind(":") if ":" in ref.rsplit("/", 1)[-1] else len(ref)
        return ref[:at], ref[at + 1 :]

    def short(tag: str) -> str:  # a digest by its first 12 hex digits, as `docker images` shows it
        return f"{tag[:19]}…" if tag.startswith("sha256:") else tag

    (old_name, old_tag), (new_name, new_tag) = split(was), split(now)
    if old_name == new_name and old_tag and new_tag:
        return f"image {short(old_tag)} → {short(new_tag)}"
    return f"image {was} → {now}"


def _job_row(job: dict[str, Any]) -> list[str]:
    before = job["before"]
    when = f"{job['schedule']} ({job['timezone']}), about {job['runs_a_month']:g} runs a month"
    size = _size(job["size"])
    if before and job["status"] == "changed":
        was = (before["schedule"], before["timezone"])
        when += "" if was == (job["schedule"], job["timezone"]) else f" (was {was[0]} ({was[1]}))"
        old = _size(before["size"])
        size += "" if old == size else f" (was {old})"
    month = 0.0 if job["status"] == "removed" else job["cost_eur_month"]
    what = _what_changed(job, shown=("schedule", "size"), rotated="new secret values")
    return [
        cell(job["name"]),
        cell(job["status"] + what),
        cell(when),
        cell(size),
        f"{job['cost_eur_run']:.4f}",
        f"{month:.2f}{_delta(job['cost_change'])}",
    ]


def _urls_and_secrets(env: dict[str, Any]) -> list[str]:
    live = [a for a in env["apps"] if a["status"] != "removed"]
    urls = [f"`{a['name']}` {a['internal_url']}" for a in live if a["internal_url"]]
    urls += [f"`{a['name']}` {url}" for a in live for url in a["public_urls"]]
    running = [*live, *(j for j in env.get("jobs", []) if j["status"] != "removed")]
    secrets = [f"`{a['name']}`: {', '.join(f'`{s}`' for s in a['secrets'])}" for a in running if a["secrets"]]
    lines = []
    if urls:
        lines += ["", "<details><summary>URLs</summary>", "", *[f"- {u}" for u in urls], "", "</details>"]
    if secrets:
        lines += ["", "Secrets (names only): " + "; ".join(secrets)]
    return lines


def _diff_summary(env: dict[str, Any], *, brief: bool) -> list[str]:
    files = env["manifest_diffs"]
    if not files:
        return []
    names = f"{len(files)} files" if brief else ", ".join(f"`{d['file']}` ({d['status']})" for d in files)
    return [
        "",
        f"Manifest changes (too long to show here; `unhazzle preview --output json` has them): {names}",
    ]


def _diff_blocks(env: dict[str, Any]) -> list[str]:
    diffs = env["manifest_diffs"]
    if not diffs:
        return []
    files = f"{len(diffs)} file{'s' * (len(diffs) != 1)}"
    lines = [
        "",
        f"<details><summary>Manifest changes in {cell(env['name'])}: {files}</summary>",
        "",
        "For reviewers who know Kubernetes: the objects the cluster gets, line by line. The plan "
        "above says the same in the spec's words.",
        "",
    ]
    for d in diffs:
        lines += [f"`{d['file']}` ({d['status']})", "", *fenced(d["diff"], "diff"), ""]
    return [*lines, "</details>"]
