"""`unhazzle preview [SPEC] --base GIT_REF [--output markdown|json]`: the pull-request comment."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from unhazzle.commands.common import add_spec, compile_spec, json_text
from unhazzle.compiler.pipeline import Compiled, compile_text, with_secrets
from unhazzle.compiler.secrets.store import STORE_DIR, SecretStore, parse_store
from unhazzle.errors import InputError

if TYPE_CHECKING:
    from unhazzle.compiler.publishing.gitread import SpecAtRef


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "preview",
        help="what a change does to the apps and the bill, as a pull-request comment",
        description="Compare the spec in the working tree with the spec at GIT_REF (read from Git, "
        "without checking anything out): apps, instances, size, monthly cost and manifest changes.",
    )
    add_spec(parser)
    parser.add_argument(
        "--base", required=True, metavar="GIT_REF", help="the branch, tag or commit to compare with"
    )
    parser.add_argument("--output", choices=["markdown", "json"], default="markdown")
    parser.add_argument(
        "--env-repo",
        metavar="ENV_REPO",
        help="the environment repo publish writes to: say which rollbacks are in force there, and "
        "whether this change ends one or would be refused by it",
    )
    parser.add_argument("--env-branch", default="main", metavar="BRANCH", help="its branch (default: main)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `unhazzle --help` loads every command module, and should
    # not pay for what only the preview uses.
    from unhazzle.compiler.presentation.markdown import preview_markdown
    from unhazzle.compiler.presentation.preview import build_preview
    from unhazzle.compiler.publishing.gitread import read_at_ref

    head = compile_spec(args.spec)  # bad input here: exit 2, no comment
    at = read_at_ref(Path(args.spec), args.base, folder=STORE_DIR)
    base_side, note = _base(at)
    data = build_preview(base_side, head, base_ref=args.base, spec_name=at.path, base_note=note)
    if args.env_repo:
        data["rollbacks"] = _rollbacks(head, args.env_repo, args.env_branch)
    if args.output == "json":
        print(json_text(data))
    else:
        print(preview_markdown(data), end="")
    return 0


def _base(at: SpecAtRef) -> tuple[Compiled | None, str | None]:
    """The spec at the base, compiled without its budget check (a base over budget is still a base)."""
    ref = at.ref
    if at.data is None:
        return None, f"{at.path} did not exist at {ref}: everything is new."
    try:
        compiled = compile_text(at.data, name=f"{ref}:{at.path}", enforce_budget=False)
        compiled = with_secrets(compiled, _stores_at(at))
    except InputError as exc:
        return None, f"{at.path} at {ref} has {len(exc.problems)} problem(s), so everything is shown as new."
    return compiled, None


def _stores_at(at: SpecAtRef) -> dict[str, SecretStore]:
    """The secrets files as they were at the base, so unchanged values read as unchanged."""
    return {
        name.removesuffix(".yaml"): parse_store(
            data, name=f"{at.ref}:{name}", environment=name.removesuffix(".yaml")
        )
        for name, data in sorted(at.beside.items())
        if name.endswith(".yaml")
    }


def _rollbacks(head: Compiled, env_repo: str, branch: str) -> list[dict[str, object]]:
    """The rollbacks in force in the environment repo, each with whether this change would
    deploy the rolled-back version again (as rendered here, without pinning image digests)."""
    from unhazzle.commands.publish import branch_name, secret_files
    from unhazzle.compiler.publishing.publish import PublishOptions, fetched, project_files_at
    from unhazzle.compiler.publishing.rollback import MARKER_FILE, in_force
    from unhazzle.compiler.rendering.render import render_plan

    project = head.plan.project
    files = {f"{project}/{name}": text.encode() for name, text in render_plan(head.plan).items()}
    files |= secret_files(head)
    options = PublishOptions(branch=branch_name(branch))
    with fetched(env_repo, options, history=False, flag="--env-repo") as (repo, tip):
        markers = {
            p: d for p, d in project_files_at(repo, tip, project).items() if p.endswith(f"/{MARKER_FILE}")
        }
    return in_force(markers, files)
