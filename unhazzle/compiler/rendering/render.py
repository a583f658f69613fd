"""Manifests from the plan, through the jinja2 templates in templates/. Pure: plan in, text out.

Safety: every ``{{ value }}`` passes through a finalizer that writes strings as double-quoted,
fully escaped YAML scalars, so no setting, command or name can add a key or an object, whatever
it holds (newlines, ``---``, ``{{``, quotes). Only template-made fragments marked ``|raw`` skip it.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache, lru_cache, partial
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from unhazzle.compiler.planning.plan import AppPlan, EnvPlan, JobPlan, Plan
from unhazzle.compiler.planning.sizing import RunSize
from unhazzle.compiler.rendering.imagederived import image_version, pull_policy, release_digest
from unhazzle.compiler.rendering.reuse import Reuse
from unhazzle.compiler.rendering.templatecache import template_cache
from unhazzle.compiler.rules.cluster import ClusterSettings, cluster_settings
from unhazzle.compiler.spec.model import WRITABLE_MB, App, Writable
from unhazzle.shared.names import (
    AFTER_ANNOTATION,
    APP_LABEL,
    AUTOMATIC_ROLLBACK,
    BADGE_LABEL,
    ENVIRONMENT_FILE,
    ENVIRONMENT_LABEL,
    JOB_LABEL,
    MANAGED_BY,
    OURS,
    PREVIEW_LABEL,
    PROJECT_LABEL,
    PUBLIC_LABEL,
    RELEASE_LABEL,
    SECRETS_CHECKSUM,
)

SERVICE_ACCOUNT = "unhazzle-app"
APP_TEMPLATES = ("volume", "deployment", "service", "autoscaler", "disruption-budget", "ingress")


def as_written(value: str) -> str:
    """*value* escaped for Kubernetes, which expands `$(NAME)` and turns `$$` into `$` in a
    container's env values, command and args (k8s.io/kubernetes third_party/forked/golang/
    expansion): every `$` doubled comes out as one, so the app sees exactly what the spec says.
    Unhazzle's own references (`${apps.NAME.url}`) were already resolved by the plan."""
    return value.replace("$", "$$")


def _scalar(value: Any) -> str:
    """The finalizer: one YAML scalar per expression, never more."""
    if type(value) is str:  # most values: checked first, as Markup is a str too
        return quoted(value)
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return quoted(value)
    raise TypeError(f"template tried to print a {type(value).__name__}; render it field by field")


# Characters a YAML double-quoted scalar may not hold as they are, so they are escaped: control
# characters, line breaks (YAML 1.1 parsers fold U+0085, U+2028 and U+2029 like newlines), lone
# surrogates, the byte-order mark and the non-characters U+FFFE/U+FFFF, and the quote and backslash.
# Characters beyond U+FFFF stay as they are: the surrogate-pair escapes JSON would write for them
# are rejected by YAML parsers, Go's among them. (Listed, not negated: a negated class over the
# whole of Unicode takes the regex compiler 4 ms on every start.)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff"\\]')
_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def quoted(text: str) -> str:
    """*text* as one double-quoted YAML scalar that parses back to exactly *text*."""
    if _UNSAFE.search(text) is None:
        return f'"{text}"'
    return f'"{_UNSAFE.sub(_escape, text)}"'


def labels(pairs: dict[str, Any], indent: int) -> Markup:
    """`key: value` lines at *indent*, sorted as jinja's dictsort sorts (ignoring case): label and
    annotation maps. Keys are ours (label names, checked where made); values pass the finalizer.
    A filter, not a macro: written per object, the macro was a fifth of a large render."""
    items = tuple(pairs.items())
    if all(type(value) is str for _, value in items):  # (True == 1: only strings share entries)
        return Markup(_labels(items, indent))
    return Markup(_labels.__wrapped__(items, indent))


@lru_cache(maxsize=4096)  # an app's labels appear in each of its objects
def _labels(pairs: tuple[tuple[str, Any], ...], indent: int) -> str:
    pad = " " * indent
    return "\n".join(f"{pad}{key}: {_scalar(value)}" for key, value in sorted(pairs, key=_key_ignoring_case))


def _key_ignoring_case(pair: tuple[str, Any]) -> str:
    return pair[0].lower()


def metadata(name: str, namespace: str | None, pairs: dict[str, Any]) -> Markup:
    """An object's metadata block: name, namespace (none for a cluster-wide object), labels."""
    lines = ["metadata:", f"  name: {_scalar(name)}"]
    if namespace:
        lines.append(f"  namespace: {_scalar(namespace)}")
    lines += ["  labels:", labels(pairs, 4)]
    return Markup("\n".join(lines).rstrip("\n"))


_DICT_NAMES = frozenset(dir(dict))


class _Views(Environment):
    """jinja2's Environment, reading `app.image` from a dict view with one lookup: the default
    tries the attribute first, and a dict's failed attribute lookup (an exception every time) was
    a tenth of a large render. A dict method's name (`items`, `get`) still means the method,
    and anything but a dict is read as jinja2 reads it."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


@cache
def template_environment() -> Environment:
    # Not sandboxed: the templates are the package's own, never a user's, and the sandbox's checks
    # on every attribute and call were a quarter of a large render. What keeps the user's values
    # from becoming YAML structure is the finalizer, which every expression passes through.
    env = _Views(
        loader=PackageLoader("unhazzle.templates", ""),
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_scalar,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates ship with the package; a stat per use cost 5% of a large render
    )
    env.filters["raw"] = Markup
    env.filters["labels"] = labels
    env.filters["metadata"] = metadata
    # A macro's text, less its last newline: the template line that calls it supplies one.
    env.filters["block"] = lambda text: Markup(str(text).rstrip("\n"))
    env.bytecode_cache = template_cache(env)
    return env


def render_plan(
    plan: Plan,
    *,
    environments: list[str] | None = None,
    settings: ClusterSettings | None = None,
    reuse: Reuse | None = None,
) -> dict[str, str]:
    """Relative file path -> YAML text, for every (or the named) environment, sorted. With
    *reuse*, an app or job whose inputs are those of the last render keeps its text."""
    settings = settings or cluster_settings()
    reuse = reuse or Reuse(None)
    files: dict[str, str] = {}
    for env in plan.environments:
        if environments is not None and env.name not in environments:
            continue
        files.update(render_environment(plan, env, settings=settings, reuse=reuse))
    reuse.save()
    return dict(sorted(files.items()))


def render_environment(
    plan: Plan, env: EnvPlan, *, settings: ClusterSettings | None = None, reuse: Reuse | None = None
) -> dict[str, str]:
    """One environment's files: its shared objects, then one file per app."""
    settings = settings or cluster_settings()
    files = render_environment_file(plan, env, settings=settings)
    files.update(render_apps(plan, env, env.apps, settings=settings, reuse=reuse))
    files.update(render_jobs(plan, env, env.jobs, settings=settings, reuse=reuse))
    return files


def render_environment_file(
    plan: Plan, env: EnvPlan, *, settings: ClusterSettings | None = None
) -> dict[str, str]:
    """The environment's shared objects (namespace first), in ENV/_environment.yaml."""
    view = _env_view(plan, env, settings or cluster_settings())
    text = template_environment().get_template("environment.yaml.j2").render(env=view)
    return {f"{env.name}/{ENVIRONMENT_FILE}": text}


def render_apps(
    plan: Plan,
    env: EnvPlan,
    apps: list[AppPlan],
    *,
    settings: ClusterSettings | None = None,
    reuse: Reuse | None = None,
) -> dict[str, str]:
    """The files of *apps* alone. An app's file depends only on the project, the environment's
    name and namespace, the cluster settings and the app's own plan (what its views hold), so
    the preview renders just the apps that changed, and *reuse* keeps the text of the others."""
    view = _run_env_view(_env_view(plan, env, settings or cluster_settings()))
    reuse = reuse or Reuse(None)
    jinja = template_environment()

    def app_file(wanted: list[str], app_view: dict[str, Any], release: dict[str, Any] | None) -> str:
        docs = [jinja.get_template(f"app/{name}.yaml.j2").render(env=view, app=app_view) for name in wanted]
        if release is not None:
            docs.insert(0, jinja.get_template("app/release.yaml.j2").render(env=view, release=release))
        return "---\n".join(docs)

    files = {}
    for app in apps:
        app_view, release, wanted = _app_parts(plan, env, app, view)
        files[f"{env.name}/{app.name}.yaml"] = reuse.text(
            env.name,
            ["app", view, app_view, release, wanted],
            partial(app_file, wanted, app_view, release),
        )
    return files


def _app_parts(
    plan: Plan, env: EnvPlan, app: AppPlan, view: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None, list[str]]:
    """What an app's file is rendered from, besides the environment's *view*: its own view, its
    release step's, and its templates."""
    release = _release_view(plan, env, app, view) if app.release else None
    return _app_view(plan, env, app), release, [name for name in APP_TEMPLATES if _wanted(name, app)]


def render_inputs(
    plan: Plan, env: EnvPlan, names: set[str], *, settings: ClusterSettings | None = None
) -> dict[str, object]:
    """The name of each app and job of *names* -> all its file is rendered from: where two are
    equal the files are (the preview renders only those that differ; a project's setting such
    as Datadog changes every app's file without changing any app's plan)."""
    view = _run_env_view(_env_view(plan, env, settings or cluster_settings()))
    inputs: dict[str, object] = {
        app.name: ["app", view, *_app_parts(plan, env, app, view)] for app in env.apps if app.name in names
    }
    inputs.update(
        {job.name: ["job", view, _job_view(plan, env, job)] for job in env.jobs if job.name in names}
    )
    return inputs


def render_jobs(
    plan: Plan,
    env: EnvPlan,
    jobs: list[JobPlan],
    *,
    settings: ClusterSettings | None = None,
    reuse: Reuse | None = None,
) -> dict[str, str]:
    """The files of *jobs* alone, one per job, ENV/JOB.yaml (a job's name is never an app's): the
    preview renders just the jobs that changed, as render_apps does for apps."""
    view = _run_env_view(_env_view(plan, env, settings or cluster_settings()))
    reuse = reuse or Reuse(None)
    template = template_environment().get_template("job/cronjob.yaml.j2")
    files = {}
    for job in jobs:
        job_view = _job_view(plan, env, job)
        files[f"{env.name}/{job.name}.yaml"] = reuse.text(
            env.name, ["job", view, job_view], partial(template.render, env=view, job=job_view)
        )
    return files


def _wanted(template: str, app: AppPlan) -> bool:
    return {
        "volume": app.app.volume is not None,
        "service": app.app.port is not None,
        "disruption-budget": app.sizing.min_instances > 1,
        "ingress": bool(app.public_hosts),
    }.get(template, True)


def _env_labels(plan: Plan, env: EnvPlan) -> dict[str, str]:
    return {
        MANAGED_BY: OURS,
        "app.kubernetes.io/part-of": plan.project,
        PROJECT_LABEL: plan.project,
        ENVIRONMENT_LABEL: env.name,
    }


def _env_view(plan: Plan, env: EnvPlan, settings: ClusterSettings) -> dict[str, Any]:
    labels = _env_labels(plan, env)
    security = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return {
        "namespace": env.namespace,
        "labels": labels,
        "namespace_labels": {
            **labels,
            **security,
            BADGE_LABEL: env.badge,
            **({PREVIEW_LABEL: "true"} if env.disposable else {}),
            "pod-security.kubernetes.io/enforce-version": "latest",
        },
        "service_account": SERVICE_ACCOUNT,
        "quota": quota(env),
        "default_request": {"cpu": "100m", "memory": "128Mi", "disk": mebibytes(TMP_MB)},
        "default_limit": {"cpu": "500m", "memory": "256Mi", "disk": mebibytes(TMP_MB + LOGS_MB)},
        "public_label": PUBLIC_LABEL,
        "serves_public": any(app.public_hosts for app in env.apps),  # (the label's instances)
        "ingress_namespace": settings.ingress_namespace,
        "ingress_class": settings.ingress_class,
        "cluster_issuer": settings.cluster_issuer,
        "run_as_user": settings.run_as_user,
        "automatic_rollback": env.automatic_rollback,
        "automatic_rollback_annotation": AUTOMATIC_ROLLBACK,
        "previews_reach": env.previews_reach,
        "preview_namespaces": {MANAGED_BY: OURS, PROJECT_LABEL: plan.project, PREVIEW_LABEL: "true"},
        "app_label": APP_LABEL,
    }


# What the app, release and job templates read of the environment: no more, so that a change to
# the environment's other parts (its quota, which sums every app) does not change every app's
# render key. StrictUndefined makes a template reading anything else fail in the tests.
RUN_ENV_KEYS = (
    "namespace",
    "service_account",
    "run_as_user",
    "automatic_rollback",
    "automatic_rollback_annotation",
    "cluster_issuer",
    "ingress_class",
)


def _run_env_view(view: dict[str, Any]) -> dict[str, Any]:
    return {key: view[key] for key in RUN_ENV_KEYS}


def surge(app: AppPlan) -> int:
    """Extra instances a rolling update may add at maximum scale (maxSurge 25%)."""
    return 0 if app.app.volume else math.ceil(app.sizing.max_instances * 0.25)


TMP_MB = WRITABLE_MB  # /tmp, writable in every app
LOGS_MB = 64  # what the server keeps of an instance's output, counted on the same disk


def scratch_mb(app: App) -> int:
    """The server disk one instance may fill: /tmp and its writable folders (ephemeral-storage
    request; the limit adds its logs)."""
    return _scratch(app.writable)


def _scratch(writable: list[Writable]) -> int:
    return TMP_MB + sum(folder.size for folder in writable)


def quota(env: EnvPlan) -> dict[str, str]:
    """The environment's ceiling: every app at maximum scale, plus rolling-update surge, its
    release step, each job's runs (as many as can be in progress together) and room for one
    `unhazzle run` of the largest app."""
    pods = cpu_req = cpu_lim = mem_req = mem_lim = storage = claims = disk = 0
    # (instances, cpu request, cpu limit, memory, scratch disk) of everything that may run at once
    running: list[tuple[int, float, float, int, int]] = []
    for app in env.apps:
        s = app.sizing
        running.append(
            (s.max_instances + surge(app), s.cpu_request, s.cpu_limit, s.memory_limit_mb, scratch_mb(app.app))
        )
        if app.release:
            r = app.release.size
            running.append((1, r.cpu_request, r.cpu_limit, r.memory_mb, scratch_mb(app.app)))
        if app.app.volume:
            claims += 1
            storage += app.app.volume.size
    for job in env.jobs:
        r = job.size
        running.append((job.at_once, r.cpu_request, r.cpu_limit, r.memory_mb, _scratch(job.job.writable)))
    if env.apps:
        largest = max(env.apps, key=lambda a: (a.sizing.memory_limit_mb, a.sizing.cpu_limit))
        s = largest.sizing
        running.append((1, s.cpu_request, s.cpu_limit, s.memory_limit_mb, scratch_mb(largest.app)))
    for count, cpu, cpu_limit, memory, scratch in running:
        pods += count
        cpu_req += count * millicores(cpu)
        cpu_lim += count * millicores(cpu_limit)
        mem_req += count * memory
        mem_lim += count * memory
        disk += count * scratch
    return {
        "pods": str(pods),
        "requests.cpu": f"{cpu_req}m",
        "limits.cpu": f"{cpu_lim}m",
        "requests.memory": f"{mem_req}Mi",
        "limits.memory": f"{mem_lim}Mi",
        "persistentvolumeclaims": str(claims),
        "requests.storage": mebibytes(storage),
        "requests.ephemeral-storage": mebibytes(disk),
        "limits.ephemeral-storage": mebibytes(disk + LOGS_MB * pods),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


def millicores(cpu: float) -> int:
    return round(cpu * 1000)


def mebibytes(mb: int) -> str:
    return f"{mb // 1024}Gi" if mb and mb % 1024 == 0 else f"{mb}Mi"


def _app_view(plan: Plan, env: EnvPlan, app: AppPlan) -> dict[str, Any]:
    selector = {APP_LABEL: app.name}
    datadog = plan.spec.observability.datadog.enabled
    tags = datadog_tags(env.name, app.name, app.app.image) if datadog else {}
    labels = {**_env_labels(plan, env), **selector, "app.kubernetes.io/name": app.name, **tags}
    pod_labels = {**labels, **({PUBLIC_LABEL: "true"} if app.public_hosts else {})}
    sizing = app.sizing
    startup_budget = (
        sizing.startup_probe.period_s * sizing.startup_probe.failures if sizing.startup_probe else 0
    )
    volume = app.app.volume
    return {
        **_pod_fields(
            app.name,
            image=app.app.image,
            command=app.app.command,
            args=app.app.args,
            settings=app.settings,
            secrets=app.secrets,
            writable=app.app.writable,
        ),
        "port": app.app.port,
        "labels": labels,
        "selector": selector,
        "pod_labels": pod_labels,
        "pod_annotations": {
            **({SECRETS_CHECKSUM: app.secrets_checksum} if app.secrets_checksum else {}),
            **(datadog_annotations(app.name) if datadog else {}),
        },
        "datadog_env": _datadog_env(app.settings, app.secrets) if datadog else [],
        "sizing": sizing,
        "spread": sizing.max_instances > 1,
        **_resources(sizing.cpu_request, sizing.cpu_limit, sizing.memory_request_mb, app.app.writable),
        "startup_probe": sizing.startup_probe,
        "readiness_probe": sizing.readiness_probe,
        "liveness_probe": sizing.liveness_probe,
        # How long a new version may go without progress before it counts as failed (and is
        # rolled back): the time its instances are given to start, plus two minutes to pull.
        "progress_deadline_s": startup_budget + 120,
        "volume": {"claim": f"{app.name}-data", "size": mebibytes(volume.size), "path": volume.path}
        if volume
        else None,
        "hosts": app.public_hosts,
        "tls_secret": f"{app.name}-tls",
        "after": ",".join(app.app.after),
        "after_annotation": AFTER_ANNOTATION,
    }


def _pod_fields(
    name: str,
    *,
    image: str,
    command: list[str] | None,
    args: list[str] | None,
    settings: dict[str, str],
    secrets: list[str],
    writable: list[Writable],
) -> dict[str, Any]:
    """What every pod of ours says the same way: its process, settings, secrets and folders.
    `name` is the app or job the settings and secrets belong to."""
    return {
        "name": name,
        "container": name,
        "image": image,
        "pull_policy": pull_policy(image),
        "restart_policy": None,
        "command": [as_written(part) for part in command or []],
        "args": [as_written(part) for part in args or []],
        "settings": {key: as_written(value) for key, value in settings.items()},
        "secrets": secrets,
        "secret_object": f"{name}-secrets",
        "tmp_size": mebibytes(TMP_MB),
        "writable": [
            {"name": f"writable-{index}", "path": folder.path, "size": mebibytes(folder.size)}
            for index, folder in enumerate(writable)
        ],
    }


def _resources(cpu: float, cpu_limit: float, memory_mb: int, writable: list[Writable]) -> dict[str, str]:
    scratch = _scratch(writable)
    return {
        "cpu_request": f"{millicores(cpu)}m",
        "cpu_limit": f"{millicores(cpu_limit)}m",
        "memory_request": mebibytes(memory_mb),
        "memory_limit": mebibytes(memory_mb),
        "disk_request": mebibytes(scratch),
        "disk_limit": mebibytes(scratch + LOGS_MB),
    }


def _run_fields(size: RunSize, writable: list[Writable]) -> dict[str, Any]:
    """A pod that runs to completion: no port, probes, spread or volume; a failed attempt is a
    new instance (so each attempt keeps its own output), never a restart in place."""
    return {
        "port": None,
        "datadog_env": [],
        "spread": False,
        "startup_probe": None,
        "volume": None,
        "restart_policy": "Never",
        **_resources(size.cpu_request, size.cpu_limit, size.memory_mb, writable),
    }


def _release_view(plan: Plan, env: EnvPlan, app: AppPlan, env_view: dict[str, Any]) -> dict[str, Any]:
    """The release step's Job. Its name carries a digest of all it runs with (and of what the
    environment adds to every pod), so a Job, whose template cannot change, is never rewritten:
    a new version gets a new step, and the same version's step is never run again."""
    fields, preimage = _release_fields(app, env_view)
    labels = {**_env_labels(plan, env), RELEASE_LABEL: app.name, "app.kubernetes.io/name": app.name}
    name = release_name(app.name, release_digest(preimage))
    return {**fields, "name": name, "labels": labels, "pod_labels": labels}


def _release_fields(app: AppPlan, env_view: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The release step's pod, and the text its name is a digest of."""
    release = app.release
    assert release is not None
    fields = {
        **_pod_fields(
            app.name,
            image=app.app.image,
            command=release.command,
            args=[],
            settings=app.settings,
            secrets=app.secrets,
            writable=app.app.writable,
        ),
        **_run_fields(release.size, app.app.writable),
        "timeout_s": release.timeout_s,
        "pod_annotations": {SECRETS_CHECKSUM: app.secrets_checksum} if app.secrets_checksum else {},
    }
    pod_env = {key: env_view[key] for key in ("service_account", "run_as_user")}
    return fields, json.dumps([fields, pod_env], sort_keys=True)


def release_preimages(plan: Plan, *, settings: ClusterSettings | None = None) -> dict[str, str]:
    """Each release step's name digest -> the text it is a digest of, as rendering makes them:
    publishing/replay.py works out a new image's step names from these."""
    settings = settings or cluster_settings()
    found = {}
    for env in plan.environments:
        view = _run_env_view(_env_view(plan, env, settings))
        for app in env.apps:
            if app.release:
                preimage = _release_fields(app, view)[1]
                found[release_digest(preimage)] = preimage
    return found


def release_name(app: str, digest: str) -> str:
    return f"{app}-release-{digest}"


def _job_view(plan: Plan, env: EnvPlan, job: JobPlan) -> dict[str, Any]:
    spec = job.job
    datadog = plan.spec.observability.datadog.enabled
    tags = datadog_tags(env.name, job.name, spec.image) if datadog else {}
    labels = {**_env_labels(plan, env), JOB_LABEL: job.name, "app.kubernetes.io/name": job.name, **tags}
    return {
        **_pod_fields(
            job.name,
            image=spec.image,
            command=spec.command,
            args=spec.args,
            settings=job.settings,
            secrets=job.secrets,
            writable=spec.writable,
        ),
        **_run_fields(job.size, spec.writable),
        "labels": labels,
        "pod_labels": labels,
        "pod_annotations": {
            **({SECRETS_CHECKSUM: job.secrets_checksum} if job.secrets_checksum else {}),
            **(datadog_annotations(job.name) if datadog else {}),
        },
        "datadog_env": _datadog_env(job.settings, job.secrets) if datadog else [],
        "schedule": spec.schedule.strip(),
        "timezone": spec.timezone,
        "concurrency": "Allow" if spec.overlap else "Forbid",
        "starting_deadline_s": STARTING_DEADLINE_S,
        "retries": spec.retries,
        "timeout_s": spec.timeout,
    }


STARTING_DEADLINE_S = 300


DATADOG_TAG = "tags.datadoghq.com"
DATADOG_ENV = (("DD_ENV", "env"), ("DD_SERVICE", "service"), ("DD_VERSION", "version"))


def datadog_tags(env: str, app: str, image: str) -> dict[str, str]:
    """Datadog Unified Service Tagging labels: env, service and version (the image's tag, or the
    first 12 hex digits of its digest; label values allow no ':')."""
    return {
        f"{DATADOG_TAG}/env": env,
        f"{DATADOG_TAG}/service": app,
        f"{DATADOG_TAG}/version": image_version(image),
    }


def _datadog_env(settings: dict[str, str], secrets: list[str]) -> list[tuple[str, str]]:
    """The settings Datadog reads, from the labels; a setting of the same name the user wrote wins."""
    return [(key, tag) for key, tag in DATADOG_ENV if key not in settings and key not in secrets]


def datadog_annotations(app: str) -> dict[str, str]:
    """Autodiscovery: the Agent collects this app's output as logs, source and service = the app."""
    logs = json.dumps([{"source": app, "service": app}], separators=(",", ":"))
    return {f"ad.datadoghq.com/{app}.logs": logs}
