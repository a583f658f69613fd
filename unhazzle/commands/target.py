"""What `status`, `events`, `logs` and `metrics` share: which cluster, which project, which
environments and apps. The environment's place in the cluster is `<project>-<env>`, taken from the
spec (default ./unhazzle.yaml) or from --project when there is no spec at hand."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from unhazzle.commands import DEFAULT_SPEC, targetcache
from unhazzle.commands.targetcache import Env as Env  # re-exported: status, logs, metrics use it
from unhazzle.errors import OperationError, UsageError

if TYPE_CHECKING:
    from unhazzle.observe.reads import Reader

NAME = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")


@dataclass(frozen=True)
class Target:
    project: str
    environments: list[Env]
    app: str | None
    env: str | None = None  # with --project and no spec: --env, checked against the cluster
    job: bool = False  # APP names a scheduled job (logs and events read its runs)


def add_target(parser: argparse.ArgumentParser, *, app: str = "optional") -> None:
    """APP, --env, --spec, --project and --kubeconfig."""
    if app == "required":
        parser.add_argument("app", metavar="APP", help="the app")
    else:
        parser.add_argument("app", metavar="APP", nargs="?", help="only this app (default: all)")
    parser.add_argument("--env", metavar="ENV", help="only this environment (default: all)")
    parser.add_argument("--spec", metavar="SPEC", help=f"the spec file (default: ./{DEFAULT_SPEC})")
    parser.add_argument("--project", metavar="NAME", help="the project, when there is no spec at hand")
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="cluster connection (default: $KUBECONFIG, else ~/.kube/config, else the cluster's own when "
        "run inside it)",
    )


def resolve(args: argparse.Namespace) -> Target:
    """The project, environments and app the flags name; bad names are input errors (exit 2)."""
    for flag, value in (("--project", args.project), ("--env", args.env), ("APP", args.app)):
        if value is not None and not NAME.match(value):
            raise UsageError(f"{flag}: '{value}' is not a name (lowercase letters, digits and '-')")
    spec = args.spec or DEFAULT_SPEC
    if args.project and not args.spec:
        return _from_project(args.project, args.env, args.app)
    try:
        found = Path(spec).is_file()
    except OSError as exc:  # a name the file system refuses: too long, say
        raise UsageError(f"{spec}: cannot read the spec file: {exc.strerror or exc}") from None
    if not found:
        raise UsageError(f"{spec}: no such spec file; give --spec FILE or --project NAME")
    view = targetcache.recall(Path(spec))
    if view is None:
        view = _compile_view(spec)
        targetcache.remember(Path(spec), view)
    envs = [e for e in view.environments if args.env in (None, e.name)]
    known = args.app is None or args.app in view.apps or args.app in view.jobs
    if not envs or not known:
        _compile_view(spec, env=args.env, app=args.app)  # the located error, as the compiler words it
    return Target(view.project, envs, args.app, job=args.app in view.jobs)


def _compile_view(spec: str, *, env: str | None = None, app: str | None = None) -> targetcache.View:
    from unhazzle.commands.common import compile_for, select_envs

    compiled = compile_for(spec, env=env, app=app)
    envs = [
        Env(e.name, e.badge, e.namespace, [a.name for a in e.apps], [j.name for j in e.jobs])
        for e in select_envs(compiled, env)
    ]
    return targetcache.View(compiled.plan.project, envs, list(compiled.spec.apps), list(compiled.spec.jobs))


def _from_project(project: str, env: str | None, app: str | None) -> Target:
    # Without a spec the environments are found in the cluster later (see environments()).
    return Target(project, [], app, env)


def environments(target: Target, reader: Reader) -> list[Env]:
    """The target's environments; with --project, those the cluster has (only --env's, when
    given). A name the cluster does not have is bad input with a suggestion, as with a spec."""
    if target.environments:
        return target.environments
    from unhazzle.observe.reads import app_names, project_environments

    found = project_environments(reader, target.project)
    if not found:
        raise OperationError(f"{reader.server}: the cluster runs no environment of project {target.project}")
    envs = [Env(name, badge, namespace, []) for name, badge, namespace in found]
    if target.env is not None:
        names = [e.name for e in envs]
        envs = [e for e in envs if e.name == target.env]
        if not envs:
            raise _unknown("--env", f"project {target.project} has no environment '{target.env}'", target.env,
                           "it has", names)  # fmt: skip
    if target.app is not None:
        apps = sorted({app for env in envs for app in app_names(reader, env.namespace)})
        if target.app not in apps:
            raise _unknown("APP", f"no app '{target.app}' runs in project {target.project}", target.app,
                           "it runs", apps)  # fmt: skip
    return envs


def one_environment(names: list[str], doing: str) -> str:
    """The one environment a command that acts (run, retry, roll back) acts in: --env must pick
    it when the spec has several."""
    if len(names) != 1:
        raise UsageError(f"--env: say which environment to {doing} in ({', '.join(names) or 'none given'})")
    return names[0]


def _unknown(flag: str, what: str, name: str, has: str, names: list[str]) -> UsageError:
    from unhazzle.compiler.spec.suggest import hint

    listed = f"{has} {', '.join(names)}" if names else f"{has} none yet"
    return UsageError(f"{flag}: {what}{hint(name, names)}; {listed}")
