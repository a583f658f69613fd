"""The pure parts behind init and inspect: the questions table, the spec writer, and reading
image manifests and configs (hostile ones included)."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support.textdiff import changed_lines
from unhazzle.compiler.editing.scaffold import AppAnswers, ProjectAnswers, ScaffoldProblem, add_app, new_spec
from unhazzle.compiler.images.inspection import (
    OCI_INDEX,
    ManifestProblem,
    choose_platform,
    image_info,
    info_text,
    is_root,
    media_type,
    parse_json,
)
from unhazzle.compiler.pipeline import compile_text
from unhazzle.compiler.rules.questions import SIZING, questions
from unhazzle.compiler.rules.sizingtable import sizing_rules
from unhazzle.compiler.spec.merge import badge_for

NAMES = st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z")


def test_questions_load_with_the_sizing_defaults():
    qs = questions()
    defaults = sizing_rules().defaults
    assert list(qs) == ["region", *SIZING]
    assert qs["traffic"].default == defaults.traffic and qs["pattern"].default == defaults.pattern
    assert qs["workload"].default_for(has_port=False) == defaults.workload_without_port
    assert all(q.explain and q.ask for q in qs.values())


def answers(draw_profile: dict[str, str], *, port: int | None, name: str = "web") -> AppAnswers:
    return AppAnswers(name, "ghcr.io/acme/web:1.0", port, port is not None, draw_profile)


PROFILES = st.fixed_dictionaries({key: st.sampled_from(list(questions()[key].choices)) for key in SIZING})


@settings(max_examples=25, deadline=None)
@given(
    project=NAMES,
    region=st.sampled_from(["fsn1", "nbg1", "hel1"]),
    envs=st.lists(NAMES, min_size=1, max_size=3, unique=True),
    profile=PROFILES,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    second=PROFILES,
)
def test_scaffold_any_answers_make_a_valid_spec(project, region, envs, profile, port, second):
    text = new_spec(ProjectAnswers(project, region, envs), answers(profile, port=port))
    compiled = compile_text(text)
    assert compiled.spec.apps["web"].profile.model_dump() == profile
    grown = add_app(text, answers(second, port=None, name="worker"))
    assert changed_lines(text, grown)[0] == []  # nothing of the spec is removed or rewritten
    grown_spec = compile_text(grown).spec
    assert list(grown_spec.apps) == ["web", "worker"]
    # outside production the second app starts as small as the first: at most two instances
    for name, env in grown_spec.environments.items():
        small = env.apps.get("worker")
        assert (small is None) == (badge_for(name) == "production"), name
        assert small is None or small.instances.max == 2


def test_scaffold_add_app_to_flow_style_apps():
    text = (
        "version: 1\nproject: a\nregion: fsn1\nenvironments: {production: {}}\napps: {web: {image: 'x:1'}}\n"
    )
    defaults = {key: questions()[key].default_for(has_port=False) for key in SIZING}
    grown = add_app(text, answers(defaults, port=None, name="jobs"))
    assert "image: 'x:1'" in grown  # the user's quoting stays
    assert list(compile_text(grown).spec.apps) == ["web", "jobs"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("a: [", "is not valid YAML"), ("- 1\n- 2\n", "has no apps: mapping"), ("apps: [a]\n", "has no apps")],
)
def test_scaffold_add_app_refuses_what_it_cannot_extend(text, problem):
    with pytest.raises(ScaffoldProblem, match=problem):
        add_app(text, answers({k: questions()[k].default for k in SIZING}, port=None))


@pytest.mark.parametrize(
    ("user", "root"),
    [("", True), ("root", True), ("0", True), ("0:0", True), ("root:staff", True), ("1000", False),
     ("app", False), ("1000:0", False)],
)  # fmt: skip
def test_image_root_user(user, root):
    assert is_root(user) is root


def test_image_media_types():
    assert media_type({"manifests": []}, "") == OCI_INDEX
    with pytest.raises(ManifestProblem, match="schema 1"):
        media_type({}, "application/vnd.docker.distribution.manifest.v1+prettyjws")
    with pytest.raises(ManifestProblem, match="is not an image"):
        media_type({"mediaType": "application/vnd.cncf.helm.config.v1+json"}, "")
    with pytest.raises(ManifestProblem, match="not JSON"):
        parse_json(b"\xff", "manifest")
    with pytest.raises(ManifestProblem, match="not a JSON object"):
        parse_json(b"[1]", "manifest")


def test_image_index_skips_attestations_and_matches_variants():
    attestation = {"os": "unknown", "architecture": "unknown"}
    arm = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    index = {
        "manifests": [
            {"digest": "sha256:" + "1" * 64, "size": 1, "platform": attestation},
            {"digest": "sha256:" + "2" * 64, "size": 1, "platform": arm},
        ]
    }
    assert choose_platform(index, "linux/arm64")["digest"].endswith("2" * 64)
    assert choose_platform(index, "linux/arm64/v8")["digest"].endswith("2" * 64)
    with pytest.raises(ManifestProblem, match=r"has no linux/amd64 image \(it has: linux/arm64/v8\)"):
        choose_platform(index, "linux/amd64")
    with pytest.raises(ManifestProblem, match="no manifests list"):
        choose_platform({"manifests": "x"}, "linux/amd64")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)
CONFIG_KEYS = ["ExposedPorts", "User", "Env", "Entrypoint", "Cmd", "WorkingDir", "Healthcheck", "Labels"]


@settings(max_examples=200, deadline=None)
@example(config={"ExposedPorts": {"²/tcp": {}, "x": 1}}, outer={})  # '²'.isdigit() is True
@example(config={"ExposedPorts": {"9" * 5000 + "/tcp": {}, "80/tcp": {}}}, outer={})  # int() refuses it
@given(
    config=st.dictionaries(st.sampled_from(CONFIG_KEYS), JSON, max_size=8),
    outer=st.dictionaries(st.sampled_from(["os", "architecture", "variant"]), JSON, max_size=3),
)
def test_image_hostile_config_never_crashes(config, outer):
    doc = {**outer, "config": config}
    try:
        info = image_info(
            doc, reference="r", digest="d", manifest_digest="d", media_type="m", platforms=[], sizes=[1]
        )
    except ManifestProblem:
        return
    assert info_text(info).startswith("r\n")
    assert all(0 < port < 65536 for port in info.port_numbers)
    json.dumps(info.env)


@pytest.mark.parametrize(
    "environments",
    [
        "  staging: &s\n    apps: {web: {instances: {max: 2}}}\n  production:\n    <<: *s\n    badge: production\n",
        "  dev: &d {}\n  production: *d\n",
        "  staging:\n    apps: &a\n      web: {instances: {max: 2}}\n  production:\n    apps: *a\n",
    ],
)
def test_scaffold_add_app_never_makes_production_smaller_through_a_shared_mapping(environments):
    # a key written into a mapping production shares (an anchor, an alias, a merge) would reach
    # production too: such a mapping is left as it is
    text = "version: 1\nproject: a\nregion: fsn1\nenvironments:\n" + environments
    text += "apps:\n  web:\n    image: 'x:1'\n    port: 80\n"
    defaults = {key: questions()[key].default_for(has_port=False) for key in SIZING}
    grown = add_app(text, answers(defaults, port=None, name="jobs"))
    [production] = [env for env in compile_text(grown).plan.environments if env.name == "production"]
    [jobs] = [app for app in production.apps if app.name == "jobs"]
    assert jobs.sizing.max_instances > 2, grown  # as the rules size it: no override reached it


@pytest.mark.parametrize(
    "environments",
    [
        "  production: {}\n  staging: &s {badge: staging}\n  qa: *s\n",
        "  production: &p {badge: production, apps: {web: {instances: {min: 3}}}}\n  staging: {<<: *p, badge: staging}\n",
    ],
)
def test_scaffold_add_app_leaves_environments_linked_through_an_anchor_as_they_are(environments):
    text = "version: 1\nproject: a\nregion: fsn1\nenvironments:\n" + environments
    text += "apps:\n  web:\n    image: 'x:1'\n    port: 80\n"
    defaults = {key: questions()[key].default_for(has_port=False) for key in SIZING}
    grown = add_app(text, answers(defaults, port=None, name="jobs"))
    assert grown.startswith(text.split("apps:")[0]), grown  # qa stays `*s`; staging keeps its `<<`


def test_scaffold_add_app_keeps_a_flow_mapping_flow():
    text = "version: 1\nproject: a\nregion: fsn1\nenvironments:\n  production: {}\n"
    text += "  staging:\n    apps: {web: {instances: {max: 2}}}  # keep\n  qa: {badge: staging}\n"
    text += "apps:\n  web:\n    image: 'x:1'\n    port: 80\n"
    defaults = {key: questions()[key].default_for(has_port=False) for key in SIZING}
    grown = add_app(text, answers(defaults, port=None, name="jobs"))
    assert "    apps: {web: {instances: {max: 2}}, jobs: {instances: {min: 1, max: 2}}}" in grown
    assert "  qa: {badge: staging, apps: {jobs: {instances: {min: 1, max: 2}}}}" in grown
