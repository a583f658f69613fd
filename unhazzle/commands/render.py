"""`unhazzle render [SPEC] --out DIR [--env ENV]`: write the Kubernetes manifests."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from unhazzle.commands.common import (
    add_env,
    add_pin_digests,
    add_spec,
    compile_for,
    maybe_pin,
    print_warnings,
    select_envs,
)
from unhazzle.compiler.presentation.report import warnings
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.compiler.rendering.reuse import Reuse
from unhazzle.compiler.write import write_tree
from unhazzle.errors import UsageError, at_once, printable


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "render",
        help="write the Kubernetes manifests",
        description="Write the manifests, one folder per environment, one "
        "file per app plus _environment.yaml.",
    )
    add_spec(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write")
    add_env(parser)
    add_pin_digests(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    compiled, _ = at_once(lambda: compile_for(args.spec, env=args.env), lambda: _out_as_given(args.out))
    envs = [env.name for env in select_envs(compiled, args.env)]
    plan = maybe_pin(compiled.plan, args)
    files = render_plan(plan, environments=envs, reuse=Reuse.for_project(plan.project))
    _check_out(Path(args.out))
    written = write_tree(Path(args.out), files)
    objects = sum(text.count("\nkind: ") + text.startswith("kind: ") for text in files.values())
    print(f"wrote {len(written)} files ({objects} objects) for {', '.join(envs)} to {printable(args.out)}")
    # what plan warns about, repeated (as documented): rendered is not the same as ready to run
    print_warnings([w for w in warnings(plan) if set(w["environments"]) & set(envs)])
    return 0


def _out_as_given(out: str) -> None:
    """--out's own mistakes, found without making anything, so they are said with the spec's."""
    if not out.strip():  # Path('') is '.': an empty --out is a slip, not "here"
        raise UsageError("--out: error: an empty path; name the folder to write to (`--out .` for here)")
    path = Path(out)
    try:
        # Where the first new folder would go: the deepest part there is (a link to nothing too).
        there = next((p for p in (path, *path.parents) if os.path.lexists(p)), None)
        broken = there is not None and not there.exists()
        longest = os.pathconf(there if there is not None and there.is_dir() else ".", "PC_NAME_MAX")
    except OSError as exc:  # a name too long, say
        raise _cannot(out, exc.strerror or str(exc)) from None
    if broken:
        raise _cannot(out, f"'{printable(str(there))}' is a link to nothing")
    if there == path and not path.is_dir():
        raise _not_a_folder(out)
    if there is not None and not there.is_dir():
        raise _cannot(out, f"'{printable(str(there))}' is a file, not a folder")
    if any(len(os.fsencode(part)) > longest for part in path.parts):  # (a folder not made yet)
        raise _cannot(out, "File name too long")


def _check_out(out: Path) -> None:
    """--out names a folder we can create or write to; anything else is a bad flag (exit 2)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _not_a_folder(str(out)) from None
    except OSError as exc:
        raise _cannot(str(out), exc.strerror or str(exc)) from None


def _not_a_folder(out: str) -> UsageError:
    return UsageError(f"--out: error: '{printable(out)}' is a file, not a folder")


def _cannot(out: str, why: str) -> UsageError:
    return UsageError(f"--out: error: cannot write to '{printable(out)}': {why}")
