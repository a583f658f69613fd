"""What several commands share: the SPEC argument, --env and --output, and compiling."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from unhazzle.compiler.pipeline import Compiled, compile_file
from unhazzle.compiler.plan import EnvPlan
from unhazzle.compiler.suggest import hint
from unhazzle.errors import InputError, Problem

DEFAULT_SPEC = "unhazzle.yaml"


def add_spec(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec",
        nargs="?",
        default=DEFAULT_SPEC,
        metavar="SPEC",
        help=f"the spec file (default: ./{DEFAULT_SPEC})",
    )


def add_env(parser: argparse.ArgumentParser, what: str = "only this environment") -> None:
    parser.add_argument("--env", metavar="ENV", help=what)


def compile_spec(spec: str) -> Compiled:
    return compile_file(Path(spec), display=spec)


def select_envs(compiled: Compiled, name: str | None) -> list[EnvPlan]:
    """All environments, or the one --env names (a located error if there is none)."""
    envs = compiled.plan.environments
    if name is None:
        return envs
    for env in envs:
        if env.name == name:
            return [env]
    raise _not_found(
        compiled,
        ("environments",),
        f"no environment named '{name}'"
        f"{hint(name, [e.name for e in envs])}; the spec has "
        f"{', '.join(e.name for e in envs)}",
    )


def _not_found(compiled: Compiled, path: tuple[Any, ...], message: str) -> InputError:
    positions = compiled.document.positions
    line, col = positions.of_key(path)
    return InputError([Problem(positions.file, line, col, message)])


def app_not_found(compiled: Compiled, name: str) -> InputError:
    apps = list(compiled.spec.apps)
    return _not_found(
        compiled, ("apps",), f"no app named '{name}'{hint(name, apps)}; the spec has {', '.join(apps)}"
    )
