"""What the user writes is what the process sees: Kubernetes expands `$(NAME)` and turns `$$`
into `$` in a container's env values, command and args, so the renderer escapes every `$`.
Proved by applying Kubernetes' own expansion rules to the rendered Deployment."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compiler.test_properties import PHASES, yaml_text
from tests.support.expansion import container_as_run, expand
from tests.support.manifests import objects, render_text


def test_expand_follows_kubernetes_rules() -> None:
    # The cases of Kubernetes' own expansion tests (expand_test.go), as the kubelet applies them.
    env = {"VAR_A": "A", "VAR_B": "B", "VAR_EMPTY": ""}
    cases = {
        "$(VAR_A)": "A", "___$(VAR_B)___": "___B___", "$(VAR_A)-$(VAR_A)": "A-A", "$$(VAR_B)": "$(VAR_B)",
        "$(VAR_EMPTY)": "", "$(UNKNOWN)": "$(UNKNOWN)", "$(VAR_A": "$(VAR_A", "$$$$": "$$", "$": "$",
        "foo$": "foo$", "$VAR_A": "$VAR_A", "a$$b": "a$b", "echo $(date)": "echo $(date)",
    }  # fmt: skip
    for given_value, wanted in cases.items():
        assert expand(given_value, env) == wanted, given_value


def _spec(settings_: dict[str, str], command: list[str], args: list[str]) -> str:
    app: dict[str, Any] = {"image": "ghcr.io/acme/web:1.0", "port": 8080, "env": settings_}
    if command:
        app["command"] = command
    if args:
        app["args"] = args
    spec = {
        "version": 1,
        "project": "shop",
        "region": "fsn1",
        "environments": {"production": {}},
        "apps": {"web": app},
    }
    return yaml_text(spec, allow_unicode=True)


def _container(text: str, app: str = "web") -> dict[str, Any]:
    [deployment] = [
        o for _, o in objects(render_text(text)) if o["kind"] == "Deployment" and o["metadata"]["name"] == app
    ]
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


# Any printable text, plus the characters that matter here; no `${`, which is Unhazzle's own
# reference syntax (resolved before rendering; tested below with its documented escape).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("$()$$\n\t\"'\\"), max_size=30
).filter(lambda s: "${" not in s)
NAMES = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)


@settings(max_examples=150, deadline=None, phases=PHASES, suppress_health_check=[HealthCheck.too_slow])
@given(
    settings_=st.dictionaries(NAMES, TEXT, max_size=5),
    command=st.lists(TEXT, max_size=3),
    args=st.lists(TEXT, max_size=3),
)
def test_the_process_sees_each_value_exactly_as_written(
    settings_: dict[str, str], command: list[str], args: list[str]
) -> None:
    env, run_command, run_args = container_as_run(_container(_spec(settings_, command, args)))
    assert env == settings_
    assert run_command == command
    assert run_args == args


def test_unhazzle_references_resolve_and_their_escape_stays_literal() -> None:
    text = _spec(
        {"API": "${apps.api.url}/v1", "TEMPLATE": "$${HOME} costs $$5", "SHELL": "echo $(date) $HOME"},
        ["sh", "-c", "echo $(whoami) $$"],
        ["$(API)"],
    ).replace("  web:\n", "  api:\n    image: ghcr.io/acme/api:1.0\n    port: 9000\n  web:\n", 1)
    env, command, args = container_as_run(_container(text))
    assert env == {
        "API": "http://api.shop-production.svc.cluster.local:9000/v1",
        "SHELL": "echo $(date) $HOME",
        "TEMPLATE": "${HOME} costs $$5",
    }
    assert command == ["sh", "-c", "echo $(whoami) $$"]
    assert args == ["$(API)"]  # a shell-like reference in an argument reaches the app as written


def test_a_tag_is_pulled_on_every_start_and_a_digest_only_once() -> None:
    tagged = _container(_spec({}, [], []))
    assert tagged["imagePullPolicy"] == "Always"
    digest = "ghcr.io/acme/web@sha256:" + "a" * 64
    pinned = _container(_spec({}, [], []).replace("ghcr.io/acme/web:1.0", digest))
    assert pinned["image"] == digest and pinned["imagePullPolicy"] == "IfNotPresent"
