"""The plan: per environment, each app's sizing, URLs and settings. Pure: spec in, plan out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from unhazzle.compiler.planning.sizing import RunSize, Sizing, size_app, size_run
from unhazzle.compiler.rules.cluster import ClusterSettings, cluster_settings
from unhazzle.compiler.rules.latency import latency_warning
from unhazzle.compiler.spec.merge import badge_for
from unhazzle.compiler.spec.model import App, Budget, Job, Spec
from unhazzle.compiler.spec.resolve import Resolved, ResolvedJobs
from unhazzle.shared.cron import parse
from unhazzle.shared.imagetag import written_tag
from unhazzle.shared.names import namespace_for

APP_REF = re.compile(r"\$\{\s*apps\.([^.}\s]+)\.(url|host|port)\s*\}")


@dataclass(frozen=True)
class ReleasePlan:
    """An app's release step: run once with each new version, before it rolls out."""

    command: list[str]
    timeout_s: int
    size: RunSize


@dataclass(frozen=True)
class AppPlan:
    name: str
    app: App
    sizing: Sizing
    internal_url: str | None
    public_hosts: list[str]
    settings: dict[str, str]
    secrets: list[str]
    warnings: list[str] = field(default_factory=list)
    # sha256 of the app's secret ciphertexts (set by the pipeline from unhazzle.secrets/), so a
    # changed value restarts the app; None when the app lists no secrets
    secrets_checksum: str | None = None
    release: ReleasePlan | None = None

    @property
    def address(self) -> str | None:
        """How the environment's other apps reach it, as people write it: `http://api:8080` (the
        same as internal_url, whose full name also works from anywhere in the cluster)."""
        if self.internal_url is None or self.app.port is None:
            return None
        return f"http://{self.name}:{self.app.port}"

    @property
    def public_urls(self) -> list[str]:
        return [f"https://{host}" for host in self.public_hosts]


@dataclass(frozen=True)
class JobPlan:
    """A scheduled job in one environment: its size, settings and how often it runs."""

    name: str
    job: Job
    size: RunSize
    settings: dict[str, str]
    secrets: list[str]
    runs_a_month: float
    warnings: list[str] = field(default_factory=list)
    secrets_checksum: str | None = None  # as for apps
    at_once: int = 1  # the most runs in progress together (more than one only with overlap)


@dataclass(frozen=True)
class EnvPlan:
    name: str
    badge: str
    namespace: str
    budget: Budget | None
    apps: list[AppPlan]
    jobs: list[JobPlan] = field(default_factory=list)
    automatic_rollback: bool = True
    # The apps preview environments reach here (this is previews.from, and they leave them out).
    previews_reach: list[str] = field(default_factory=list)
    disposable: bool = False  # a preview environment (`unhazzle preview-env`): removed whole


@dataclass(frozen=True)
class SecretUser:
    """An app or a job, as the secrets checks see it: what the spec lists, what it gets."""

    name: str
    section: str  # "apps" or "jobs": where the spec declares it
    listed: list[str]  # the secrets it names itself
    databases: list[str]
    secrets: list[str]  # every secret it gets: its own and its databases'


def secret_users(env: EnvPlan) -> list[SecretUser]:
    return [
        *(SecretUser(a.name, "apps", a.app.secrets, a.app.databases, a.secrets) for a in env.apps),
        *(SecretUser(j.name, "jobs", j.job.secrets, j.job.databases, j.secrets) for j in env.jobs),
    ]


@dataclass(frozen=True)
class Plan:
    project: str
    region: str
    budget: Budget | None
    environments: list[EnvPlan]
    spec: Spec

    def environment(self, name: str) -> EnvPlan:
        return next(env for env in self.environments if env.name == name)


def build_plan(
    spec: Spec,
    resolved: Resolved,
    settings: ClusterSettings | None = None,
    jobs: ResolvedJobs | None = None,
) -> Plan:
    """Size every app and job of every environment and work out URLs and settings."""
    settings = settings or cluster_settings()
    envs = [
        _environment(spec, name, resolved[name], settings, (jobs or {}).get(name, {}))
        for name in spec.environments
    ]
    return Plan(project=spec.project, region=spec.region, budget=spec.budget, environments=envs, spec=spec)


def _environment(
    spec: Spec, name: str, apps: dict[str, App], settings: ClusterSettings, jobs: dict[str, Job]
) -> EnvPlan:
    env = spec.environments[name]
    badge = env.badge or badge_for(name)
    namespace = namespace_for(spec.project, name)
    refs = {app_name: _references(app_name, namespace, app.port) for app_name, app in apps.items()}
    settings_of = _Expander(refs)
    plans = [
        _app(
            spec,
            app_name,
            app,
            badge=badge,
            namespace=namespace,
            refs=refs,
            settings_of=settings_of,
            settings=settings,
            own_domains="domains" in getattr(env.apps.get(app_name), "model_fields_set", ()),
        )
        for app_name, app in apps.items()
    ]
    job_plans = [_job(spec, job_name, job, settings_of) for job_name, job in jobs.items()]
    previews = spec.previews
    reach = []
    if previews is not None and previews.from_ == name:
        chosen = previews.apps or list(spec.apps)
        reach = [a for a, app in apps.items() if a not in chosen and app.port]
    return EnvPlan(
        name=name,
        badge=badge,
        namespace=namespace,
        budget=env.budget,
        apps=plans,
        jobs=job_plans,
        automatic_rollback=env.rollback == "automatic",
        previews_reach=reach,
    )


def _job(spec: Spec, name: str, job: Job, settings_of: _Expander) -> JobPlan:
    schedule = parse(job.schedule)
    return JobPlan(
        name=name,
        job=job,
        size=size_run(job.profile.workload or "worker", job.size),
        settings={key: settings_of(value) for key, value in job.env.items()},
        secrets=_secrets(spec, job.secrets, job.databases),
        runs_a_month=schedule.runs_a_month(),
        at_once=schedule.most_at_once(job.timeout) if job.overlap else 1,
        warnings=_image_warnings(job.image, "each run starts whatever it is then"),
    )


def _secrets(spec: Spec, names: list[str], databases: list[str]) -> list[str]:
    """The secrets a process gets: its own, and each database's connection URL."""
    return sorted({*names, *(spec.databases[db].secret for db in databases if db in spec.databases)})


def _references(app: str, namespace: str, port: int | None) -> dict[str, str]:
    if not port:
        return {}
    host = f"{app}.{namespace}.svc.cluster.local"
    return {"url": f"http://{host}:{port}", "host": host, "port": str(port)}


def _app(
    spec: Spec,
    name: str,
    app: App,
    *,
    badge: str,
    namespace: str,
    refs: dict[str, dict[str, str]],
    settings_of: _Expander,
    settings: ClusterSettings,
    own_domains: bool,
) -> AppPlan:
    sizing = size_app(app)
    secrets = _secrets(spec, app.secrets, app.databases)
    release = (
        ReleasePlan(
            command=app.release.command,
            timeout_s=app.release.timeout,
            size=size_run(sizing.answers["workload"], app.release.size, fallback=sizing),
        )
        if app.release
        else None
    )
    return AppPlan(
        name=name,
        app=app,
        sizing=sizing,
        internal_url=refs[name].get("url"),
        public_hosts=_hosts(
            name, app, badge=badge, namespace=namespace, settings=settings, own_domains=own_domains
        ),
        settings={key: settings_of(value) for key, value in app.env.items()},
        secrets=secrets,
        warnings=[
            *sizing.warnings,
            *_database_warnings(spec, app),
            *_image_warnings(app.image, _app_runs(app)),
        ],
        release=release,
    )


def _app_runs(app: App) -> str:
    """What an image of no version means for *app* (see _image_warnings)."""
    release = ", and its release step does not run again when it changes" if app.release else ""
    return f"instances started at different times can run different images{release}"


def _image_warnings(image: str, means: str) -> list[str]:
    """An image named by no version (no tag, which means `latest`, or `latest` itself) runs
    whatever the registry holds when each instance starts: not said in any file, and not the
    same from one instance to the next (*means*: what that means for the app or job)."""
    if "@sha256:" in image:
        return []
    tag = written_tag(image)
    if tag not in ("", "latest"):
        return []
    named = "names no version" if not tag else "names no version, only 'latest'"
    base = image.rpartition(":")[0] if tag else image
    fix = f"give it a version ({base}:1.2.3), or pin what it names now with --pin-digests"
    return [f"{_about(image)}{named}: {means}; {fix}"]


def _about(image: str) -> str:
    return f"image '{image}' "


def without_image_warnings(warnings: list[str], image: str) -> list[str]:
    """*warnings* less the one about *image* having no version: for a plan whose image is pinned."""
    return [warning for warning in warnings if not warning.startswith(_about(image))]


def _database_warnings(spec: Spec, app: App) -> list[str]:
    found = (
        latency_warning(db, spec.databases[db], spec.region) for db in app.databases if db in spec.databases
    )
    return [message for message in found if message]


def _hosts(
    name: str, app: App, *, badge: str, namespace: str, settings: ClusterSettings, own_domains: bool
) -> list[str]:
    """Custom domains serve production; other environments get their own host unless their
    override names domains, so staging never claims production's domain on a shared cluster."""
    if not app.public:
        return []
    if app.domains and (badge == "production" or own_domains):
        return list(app.domains)
    return [f"{name}.{namespace}.{settings.base_domain}"]


class _Expander:
    """Settings as the apps and jobs of one environment see them, each distinct text expanded
    once: a long value that YAML aliases repeat, or that every app inherits, stays one string
    (expanded per use, a 1 MB value aliased 300 times took 334 MB before any check could refuse it)."""

    def __init__(self, refs: dict[str, dict[str, str]]) -> None:
        self.refs = refs
        self.done: dict[str, str] = {}

    def __call__(self, value: str | bool | int | float) -> str:
        if not isinstance(value, str):
            return expand(value, self.refs)
        found = self.done.get(value)
        if found is None:
            found = self.done[value] = expand(value, self.refs)
        return found


def expand(value: str | bool | int | float, refs: dict[str, dict[str, str]]) -> str:
    """A setting as the app sees it: text, with ${apps.NAME.url|host|port} filled in and
    $${ standing for a literal ${."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return str(value)
    parts = value.split("$${")
    expanded = [
        APP_REF.sub(lambda m: refs.get(m.group(1), {}).get(m.group(2), m.group(0)), part) for part in parts
    ]
    return "${".join(expanded)
