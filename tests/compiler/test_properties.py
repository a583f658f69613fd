"""Property tests (hypothesis): sizing is monotonic in traffic and always ordered, and no spec,
however strange, makes the command line crash: it exits 0 or 2, never 1, never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.compiler.planning.test_sizing import LATENCY, PATTERN, STARTUP, TRAFFIC, WORKLOAD
from tests.support.expansion import container_as_run
from tests.support.manifests import objects, render_text
from unhazzle.cli import main
from unhazzle.compiler.planning.sizing import size_app
from unhazzle.compiler.spec.model import App

# The explain phase re-runs failures hundreds of times to annotate them; slow, and not needed.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]
LOCATED = re.compile(r"^.+:\d+:\d+: error: .+$")
IMAGES = ["ghcr.io/acme/web:1.0", "redis:7.2-alpine", "nginx", "registry.example.com:5000/a/b:v2"]


def yaml_text(data: Any, *, allow_unicode: bool) -> str:
    """*data* as YAML 1.2, the version unhazzle reads. (PyYAML writes YAML 1.1 and leaves a string
    such as 0E0 unquoted, which YAML 1.2 reads as a number: that would test the dumper, not us.)"""
    dumper = YAML(typ="safe", pure=True)
    dumper.allow_unicode = allow_unicode
    dumper.default_flow_style = False
    out = io.StringIO()
    dumper.dump(data, out)
    return out.getvalue()


profiles = st.fixed_dictionaries(
    {},
    optional={
        "latency": st.sampled_from(LATENCY),
        "workload": st.sampled_from(WORKLOAD),
        "startup": st.sampled_from(STARTUP),
        "pattern": st.sampled_from(PATTERN),
    },
)
ports = st.one_of(st.none(), st.integers(1, 65535))
volumes = st.one_of(st.none(), st.just({"size": "1GB", "path": "/data"}))


def sized(traffic: str, profile: dict[str, str], port: int | None, volume: Any, instances: Any = None):
    fields: dict[str, Any] = {"image": IMAGES[0], "port": port, "profile": {**profile, "traffic": traffic}}
    if volume:
        fields["volume"] = volume
    if instances:
        fields["instances"] = instances
    return size_app(App.model_validate(fields))


@given(
    st.sampled_from(TRAFFIC),
    st.sampled_from(TRAFFIC),
    profiles,
    ports,
    volumes,
)
def test_property_more_traffic_never_lowers_instances(a, b, profile, port, volume):
    low, high = sorted([a, b], key=TRAFFIC.index)
    less, more = sized(low, profile, port, volume), sized(high, profile, port, volume)
    assert more.max_instances >= less.max_instances
    assert more.min_instances >= less.min_instances


instance_overrides = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"min": st.integers(1, 1000)}),
    st.fixed_dictionaries({}, optional={"max": st.integers(1, 1000)}),
    st.tuples(st.integers(1, 1000), st.integers(1, 1000)).map(lambda t: {"min": min(t), "max": max(t)}),
)


@given(st.sampled_from(TRAFFIC), profiles, ports, instance_overrides)
def test_property_min_never_exceeds_max(traffic, profile, port, instances):
    s = sized(traffic, profile, port, None, instances)
    assert 1 <= s.min_instances <= s.max_instances
    if instances and "min" in instances:
        assert s.min_instances == instances["min"]
    if instances and "max" in instances:
        assert s.max_instances == instances["max"]


# -- whole specs -------------------------------------------------------------------------------

good_names = st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True)
any_names = st.one_of(
    st.sampled_from(["web", "api", "worker", "cache", "main", "production", "staging"]),
    good_names,
    st.text(max_size=12),
    st.integers(-5, 5),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(),
    st.text(max_size=16),
    st.sampled_from(["${apps.web.url}", "${apps.nope.url}", "${x}", "$${", "10GB", "-1MB", "---", "{{ x }}"]),
)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes any value at all."""
    return st.one_of(good, good, good, anything)


fuzz_profile = st.fixed_dictionaries(
    {},
    optional={
        "traffic": either(st.sampled_from(TRAFFIC)),
        "latency": either(st.sampled_from(LATENCY)),
        "workload": either(st.sampled_from(WORKLOAD)),
        "startup": either(st.sampled_from(STARTUP)),
        "pattern": either(st.sampled_from(PATTERN)),
    },
)
app_fields = {
    "port": either(st.integers(-1, 70000)),
    "public": either(st.booleans()),
    "domains": either(st.lists(st.sampled_from(["shop.example.com", "a.b.c", "Bad_Domain", ""]), max_size=3)),
    "command": either(st.lists(st.text(max_size=10), max_size=3)),
    "args": either(st.lists(st.text(max_size=10), max_size=3)),
    "env": either(
        st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True), scalars, max_size=3)
    ),
    "secrets": either(st.lists(st.sampled_from(["SESSION_KEY", "API_KEY", "bad-name"]), max_size=2)),
    "databases": either(st.lists(st.sampled_from(["main", "other"]), max_size=2)),
    "volume": either(
        st.fixed_dictionaries(
            {
                "size": st.sampled_from(["1GB", 512, "0MB", "x"]),
                "path": st.sampled_from(["/data", "data", "/a/../b"]),
            }
        )
    ),
    "health": either(st.fixed_dictionaries({"path": st.sampled_from(["/healthz", "nope", "/ x"])})),
    "profile": either(fuzz_profile),
    "instances": either(
        st.fixed_dictionaries({}, optional={"min": st.integers(-1, 1002), "max": st.integers(-1, 1002)})
    ),
    "size": either(
        st.fixed_dictionaries(
            {}, optional={"cpu": st.floats(0, 70), "memory": st.sampled_from(["64MB", "1.5GB", 0, "1TB"])}
        )
    ),
    "typo": anything,
}
overrides = st.fixed_dictionaries({}, optional=app_fields)
apps = st.fixed_dictionaries({"image": either(st.sampled_from(IMAGES))}, optional=app_fields)
environments = st.fixed_dictionaries(
    {},
    optional={
        "badge": either(st.sampled_from(["production", "staging", "preview", "development"])),
        "budget": either(st.fixed_dictionaries({"max_monthly_eur": st.floats(-1, 1e6)})),
        "apps": either(st.dictionaries(any_names, overrides, max_size=2)),
    },
)
specs = st.fixed_dictionaries(
    {
        "version": either(st.just(1)),
        "project": either(good_names),
        "region": either(st.sampled_from(["fsn1", "nbg1", "hel1"])),
        "environments": either(st.dictionaries(any_names, environments, max_size=3)),
        "apps": either(st.dictionaries(any_names, apps, min_size=1, max_size=3)),
    },
    optional={
        "databases": either(
            st.dictionaries(
                any_names,
                st.fixed_dictionaries(
                    {
                        "provider": either(st.sampled_from(["aiven", "supabase", "external"])),
                        "region": either(st.just("aws-eu-central-1")),
                        "secret": either(st.just("DATABASE_URL")),
                    }
                ),
                max_size=2,
            )
        ),
        "budget": anything,
    },
)


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def assert_ok_or_located(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        lines = err.strip().splitlines()
        assert lines and all(LOCATED.match(line) for line in lines), err


@settings(max_examples=150, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_property_no_generated_spec_crashes(spec: dict[str, Any]):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "unhazzle.yaml"
        path.write_text(yaml_text(spec, allow_unicode=True), encoding="utf-8")
        code, _, err = run_cli("validate", str(path))
        event(f"validate exit {code}")
        assert_ok_or_located(code, err)
        code, out, err = run_cli("plan", str(path), "--output", "json")
        assert_ok_or_located(code, err)
        if code == 0:
            for env in json.loads(out)["environments"]:
                for app in env["apps"]:
                    assert 1 <= app["instances"]["min"] <= app["instances"]["max"]
        code, _, err = run_cli("render", str(path), "--out", str(Path(tmp) / "out"))
        assert_ok_or_located(code, err)
        if code == 0:
            for file in (Path(tmp) / "out").rglob("*.yaml"):
                assert all(isinstance(doc, dict) for doc in yaml.safe_load_all(file.read_text("utf-8")))


# Any text but a `${` left open, which is an error (a reference not closed), not a setting.
# (a NUL cannot be given to a program: refused, tests/compiler/spec/test_validate.py)
# (nor half a character: an unpaired surrogate is no character, refused as well)
NO_NUL = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
SETTING_TEXT = st.text(NO_NUL, max_size=20).filter(lambda text: "${" not in text)


@st.composite
def valid_apps(draw: st.DrawFn) -> dict[str, Any]:
    """A spec's apps that satisfy every rule, with any text in settings and commands."""
    names = draw(st.lists(good_names, min_size=1, max_size=4, unique=True))
    served = {name: draw(ports) for name in names}
    out: dict[str, Any] = {}
    for name in names:
        app: dict[str, Any] = {"image": draw(st.sampled_from(IMAGES)), "profile": draw(profiles)}
        app["profile"]["traffic"] = draw(st.sampled_from(TRAFFIC))
        if served[name]:
            app["port"] = served[name]
            app["public"] = draw(st.booleans())
            if app["public"] and draw(st.booleans()):
                app["domains"] = [f"{name}.example.com"]
        targets = [t for t, port in served.items() if port]
        text = SETTING_TEXT | st.sampled_from([f"${{apps.{t}.url}}" for t in targets] or ["$${x}"])
        app["env"] = draw(
            st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True), text, max_size=3)
        )
        app["command"] = draw(st.none() | st.lists(st.text(NO_NUL, max_size=12), max_size=3))
        if draw(st.integers(0, 4)) == 0:
            app["volume"] = {"size": "1GB", "path": "/data"}
        else:
            app["instances"] = draw(instance_overrides) or {}
        out[name] = {k: v for k, v in app.items() if v is not None}
    return out


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    apps = draw(valid_apps())
    envs = draw(st.lists(good_names, min_size=1, max_size=3, unique=True))
    environments: dict[str, Any] = {}
    for env in envs:
        changes = {
            name: {"profile": draw(profiles), "env": {"EXTRA": draw(SETTING_TEXT)}}
            for name in draw(st.lists(st.sampled_from(sorted(apps)), max_size=2, unique=True))
        }
        environments[env] = {"apps": changes} if changes else {}
    return {
        "version": 1,
        "project": draw(good_names),
        "region": "fsn1",
        "environments": environments,
        "apps": apps,
    }


@settings(max_examples=60, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_property_every_valid_spec_renders_parseable_owned_objects(spec: dict[str, Any]):
    # Escaped, not raw: a raw NEL or LINE SEPARATOR inside a dumped string reads back as a line
    # break (a YAML 1.1 rule both parsers follow), which would test the dumper, not us.
    files = render_text(yaml_text(spec, allow_unicode=False))
    for _, doc in objects(files):
        assert doc["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "unhazzle"
        if doc["kind"] != "Deployment":
            continue
        assert "replicas" not in doc["spec"]
        container = doc["spec"]["template"]["spec"]["containers"][0]
        app = spec["apps"][container["name"]]
        _, command, _ = container_as_run(container)  # what the process gets, after Kubernetes' expansion
        assert command == (app.get("command") or [])
        settings_seen = {e["name"] for e in container.get("env", []) if "value" in e}
        assert set(app["env"]) <= settings_seen


def said(path: Path) -> set[str]:
    """The errors `validate` finds in the spec at *path*, without where (line numbers move as
    entries are added)."""
    code, _, err = run_cli("validate", str(path))
    if code == 0:
        return set()
    assert_ok_or_located(code, err)
    return {line.split(": error: ", 1)[1] for line in err.strip().splitlines()}


@settings(max_examples=40, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs(), st.booleans())
def test_property_a_broken_app_hides_nothing_and_adds_only_its_own_problem(spec: dict[str, Any], clash: bool):
    # The checks of a whole plan run on the spec's valid part: an app with a mistake is taken out
    # of it, so what they say of the rest is exactly what they say without that app.
    if clash:  # two apps at one address: a problem that only a whole plan shows
        for name in ("claim-one", "claim-two"):
            spec["apps"][name] = {
                "image": IMAGES[0],
                "port": 80,
                "public": True,
                "domains": ["x.example.com"],
            }
        spec["environments"].setdefault("production", {})  # (where an app's own domains serve)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "unhazzle.yaml"
        path.write_text(yaml_text(spec, allow_unicode=False), encoding="utf-8")
        before = said(path)
        spec["apps"]["broken-app-x"] = {"image": IMAGES[0], "prot": 80}
        path.write_text(yaml_text(spec, allow_unicode=False), encoding="utf-8")
        assert said(path) == {*before, "apps.broken-app-x: unknown key 'prot' (did you mean 'port'?)"}
