"""What several commands share: the SPEC argument, --env and --output, and compiling."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unhazzle.commands import DEFAULT_SPEC as DEFAULT_SPEC  # re-exported for the commands
from unhazzle.compiler.images.reference import BadReference, ImageRef, parse_reference
from unhazzle.compiler.spec.suggest import hint
from unhazzle.errors import InputError, Problem, UsageError, at_once, printable
from unhazzle.shared import collector
from unhazzle.shared.streams import carries_utf8

if TYPE_CHECKING:
    # The compiler is imported when a command compiles, not when its parser is built: publish
    # starts fetching the environment repo meanwhile. httpx: only for commands that reach a registry.
    from unhazzle.compiler.editing.flatjson import Entry
    from unhazzle.compiler.images.registry import RegistryOptions
    from unhazzle.compiler.pipeline import Compiled
    from unhazzle.compiler.planning.plan import EnvPlan, Plan
    from unhazzle.compiler.spec.positions import Positions


def add_spec(parser: argparse.ArgumentParser) -> None:
    """The spec, as every command takes it: `--spec FILE`, or (for the commands that compile
    it) as the first word, as the contract writes them (`unhazzle plan SPEC`)."""
    parser.add_argument("spec", nargs="?", metavar="SPEC", help=f"the spec file (default: ./{DEFAULT_SPEC})")
    add_spec_option(parser)
    parser.set_defaults(settle=settle_spec)


def add_spec_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec", dest="spec_option", metavar="SPEC", help=f"the spec file (default: ./{DEFAULT_SPEC})"
    )
    parser.set_defaults(settle=settle_spec)


def settle_spec(args: argparse.Namespace) -> None:
    """One spec, however it was given: `args.spec`."""
    given = [s for s in (getattr(args, "spec", None), getattr(args, "spec_option", None)) if s]
    if len(set(given)) > 1:
        raise UsageError(
            f"--spec {given[1]}: error: the spec is given twice (also as {given[0]}); give it once"
        )
    args.spec = given[0] if given else DEFAULT_SPEC


def add_env(parser: argparse.ArgumentParser, what: str = "only this environment") -> None:
    parser.add_argument("--env", metavar="ENV", help=what)


def compiled_and_read(compile: Callable[[], Compiled], file: str) -> tuple[Compiled, list[Entry]]:
    """The spec as *compile* compiles it and the flat JSON *file* (`env import`, `secrets
    import`), every problem of both at once."""
    from unhazzle.compiler.editing.flatjson import read_flat_json

    compiled, entries = at_once(compile, lambda: read_flat_json(Path(file), display=file))
    return compiled, entries


def compile_spec(spec: str, *, enforce_budget: bool = True, spec_bytes: bytes | None = None) -> Compiled:
    """The spec at *spec* compiled (its bytes: *spec_bytes* when the caller read them already)."""
    from unhazzle.compiler.pipeline import compile_file

    collector.keep_what_is_loaded()  # the compiler's modules, as the parser's were
    return compile_file(Path(spec), display=spec, enforce_budget=enforce_budget, spec_bytes=spec_bytes)


def over_budget(compiled: Compiled) -> int:
    """For plan and explain, which show the numbers of a spec over its budget so the user can
    decide what to cut: each budget error on stderr, then exit 2, as any error."""
    from unhazzle.compiler.planning.budget import budget_problems

    over = budget_problems(compiled.spec, compiled.cost, compiled.document.positions)
    for problem in over:
        print(problem, file=sys.stderr)
    return 2 if over else 0


def compile_for(
    spec: str,
    *,
    env: str | None = None,
    app: str | None = None,
    jobs: bool = True,
    enforce_budget: bool = True,
) -> Compiled:
    """The spec compiled for a command that looks up --env and an APP (or, with *jobs*, a job)
    in it: a name it does not have is said with the spec's own problems, and with the other's."""
    raw = None
    if env is not None or app is not None:  # read once: the names are looked up in the same text
        from unhazzle.compiler.spec.read import read_spec

        raw = read_spec(Path(spec), display=spec)
    try:
        compiled = compile_spec(spec, enforce_budget=enforce_budget, spec_bytes=raw)
    except InputError as exc:
        found = _unknown_as_written(raw, spec, env=env, app=app, jobs=jobs) if raw is not None else []
        raise InputError([*exc.problems, *found]) from None

    def app_known() -> None:
        if app is not None and app not in compiled.spec.apps and not (jobs and app in compiled.spec.jobs):
            raise app_not_found(compiled, app)

    at_once(app_known, lambda: select_envs(compiled, env))
    return compiled


def _unknown_as_written(
    raw: bytes, spec: str, *, env: str | None, app: str | None, jobs: bool
) -> list[Problem]:
    """--env and APP looked up in the spec as written (*raw*), which does not compile: where it
    names its environments and apps, an unknown one is said with its problems."""
    from unhazzle.compiler.spec.load import load_bytes

    try:
        document = load_bytes(raw, name=spec, keep_going=True)
    except InputError:  # (not YAML: its own problems say so)
        return []
    data = document.data if isinstance(document.data, dict) else {}

    def names(section: str) -> list[str]:
        found = data.get(section)
        return [name for name in found if isinstance(name, str)] if isinstance(found, dict) else []

    problems = []
    envs, apps = names("environments"), names("apps")
    if env is not None and envs and env not in envs:
        problems.append(_no_such(document.positions, "environment", env, envs))
    if app is not None and apps and app not in apps and not (jobs and app in names("jobs")):
        problems.append(_no_such(document.positions, "app", app, apps))
    return problems


def select_envs(compiled: Compiled, name: str | None) -> list[EnvPlan]:
    """All environments, or the one --env names (a located error if there is none)."""
    envs = compiled.plan.environments
    if name is None:
        return envs
    for env in envs:
        if env.name == name:
            return [env]
    names = [e.name for e in envs]
    raise InputError([_no_such(compiled.document.positions, "environment", name, names)])


def app_not_found(compiled: Compiled, name: str) -> InputError:
    return InputError([_no_such(compiled.document.positions, "app", name, list(compiled.spec.apps))])


def _no_such(positions: Positions, what: str, name: str, names: list[str]) -> Problem:
    """*name* is not one of the spec's *names* of *what* (app, environment): said where it lists
    them, with a did-you-mean."""
    line, col = positions.of_key(("environments" if what == "environment" else "apps",))
    said = f"no {what} named '{name}'{hint(name, names)}; the spec has {', '.join(names)}"
    return Problem(positions.file, line, col, said)


def add_registry_options(parser: argparse.ArgumentParser) -> None:
    """The flags every command that reads a registry shares."""
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain HTTP for registries without TLS (always allowed for localhost/127.0.0.1)",
    )
    parser.add_argument("--ca-file", metavar="PEM", help="also trust these CA certificates (a private CA)")


def registry_options(args: argparse.Namespace) -> RegistryOptions:
    from unhazzle.compiler.images.registry import RegistryOptions

    return RegistryOptions(insecure=args.insecure, ca_certs=_ca_certs(args.ca_file))


def _ca_certs(path: str | None) -> str | None:
    """The PEM text of --ca-file (see read_ca_file)."""
    if path is None:
        return None
    text, why = read_ca_file(path)
    if text is None:
        raise UsageError(f"--ca-file: error: {printable(path)}: {why}")
    return text


def read_ca_file(path: str) -> tuple[str | None, str]:
    """(the PEM text of --ca-file, "") or (None, why not): read within its ceiling and checked to
    hold certificates when the flags are, so a wrong path is bad input named as such, not a
    failure at the first registry."""
    import re
    import ssl

    from unhazzle.shared import readlimit

    try:
        raw = readlimit.read_bytes(path, readlimit.CONNECTION_FILE)
    except (OSError, RuntimeError) as exc:  # a symlink loop is a RuntimeError in pathlib
        return None, f"cannot read it: {readlimit.reason(exc)}"
    # Only the certificates themselves, which are ASCII: a bundle's comments may be any text
    # (`# Issuer: Főtanúsítvány`) or start with a byte-order mark, which ssl refuses as cadata.
    found = re.findall(rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*?-----END CERTIFICATE-----", raw)
    text = "\n".join(block.decode("ascii") for block in found)
    try:
        if not found:
            raise ValueError("no certificate")
        ssl.create_default_context(cadata=text)
    except (ssl.SSLError, ValueError, TypeError):
        return None, "holds no PEM certificate (-----BEGIN CERTIFICATE-----) that can be read"
    return text, ""


def parse_image(text: str, *, flag: str = "IMAGE") -> ImageRef:
    try:
        return parse_reference(text)
    except BadReference as exc:
        raise UsageError(f"{flag}: error: {exc}") from None


def add_pin_digests(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pin-digests",
        action="store_true",
        help="resolve each image tag to its digest in the registry, so the output records exactly what runs",
    )
    add_registry_options(parser)


def maybe_pin(plan: Plan, args: argparse.Namespace) -> Plan:
    """The plan with tags pinned to digests when --pin-digests was given."""
    if not args.pin_digests:
        return plan
    from unhazzle.compiler.images.pin import pin_digests

    return pin_digests(plan, registry_options(args))


def print_warnings(planned: list[dict[str, Any]]) -> None:
    """Each warning of the plan, as validate and render repeat them on stderr."""
    from unhazzle.compiler.presentation.report import where

    for found in planned:
        said = f"{found['app']} ({where(found)}): {found['message']}"
        print(f"warning: {printable(said)}", file=sys.stderr)


def problem_json(problem: Problem) -> dict[str, Any]:
    """A located problem as the JSON outputs give it."""
    return {"file": problem.file, "line": problem.line, "column": problem.column, "message": problem.message}


def json_text(data: object) -> str:
    """*data* as the JSON a command prints: its text as written (`é`, not `\\u00e9`) where the
    output is UTF-8, and escaped where it is not (PYTHONIOENCODING=ascii), so it is valid JSON
    either way."""
    return json.dumps(data, indent=2, ensure_ascii=not carries_utf8(sys.stdout))
