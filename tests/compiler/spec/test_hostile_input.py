"""Hostile input: every malformed or malicious file exits 2 with located errors, at once, fast,
in the user's words; hostile values render as exactly themselves and never add a key or object."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, MINIMAL, ROOT
from tests.support.manifests import objects, render_text

LOCATED = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<col>\d+): error: (?P<message>.+)$")
KUBERNETES_WORDS = re.compile(
    r"\b(pods?|deployments?|replicas?|replicasets?|namespaces?|hpas?|ingress(es)?|kubernetes|k8s|"
    r"containers?|manifests?|statefulsets?|configmaps?)\b",
    re.IGNORECASE,
)


def billion_laughs() -> bytes:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return ("\n".join(lines) + "\n").encode()


HOSTILE: dict[str, bytes] = {
    "duplicate-key": MINIMAL.replace("region: fsn1\n", "region: fsn1\nregion: nbg1\n").encode(),
    "duplicate-app": (MINIMAL + "  web:\n    image: nginx\n").encode(),
    "billion-laughs": billion_laughs(),
    "alias-fan-out": (
        MINIMAL + "x: &x [" + ", ".join(["y"] * 1000) + "]\n" + "z: [" + ", ".join(["*x"] * 200) + "]\n"
    ).encode(),
    "tab-indent": MINIMAL.replace("  web:", "\tweb:").encode(),
    "deep-flow": b"[" * 100_000,
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(5_000)).encode(),
    "deep-within-limits": ("apps: " + "[" * 150 + "]" * 150 + "\n").encode(),
    # the C parser's composer recursed once a level and crashed the process (a segmentation
    # fault) on these: closers in quotes or comments hid the depth from a count of brackets, and
    # `- - -` nests on one line
    "deep-closers-in-quotes": ("version: 1\nproject: shop\napps: " + "[']', " * 40_000 + "\n").encode(),
    "deep-closers-in-comments": ("version: 1\napps: [ # ]\n" + "  [ # ]\n" * 50_000).encode(),
    "deep-on-one-line": ("version: 1\nproject: shop\napps:\n  " + "- " * 40_000 + "x\n").encode(),
    "deep-questions": ("version: 1\nproject: shop\napps:\n  " + "? " * 40_000 + "x\n").encode(),
    # keys that are mappings of mappings: the round-trip parser took time exponential in the depth
    # ruamel's round-trip parser raised its own errors (AttributeError: add_referent)
    "self-merge": MINIMAL.replace("  production: {}", "  production: &p {<<: *p}").encode(),
    "nested-complex-keys": ("version: 1\nproject: shop\napps:\n  " + "? " * 24 + "x\n").encode(),
    "nested-flow-keys": (
        "version: 1\nproject: shop\napps: " + "{" * 24 + "a: 1" + "}: 1" * 23 + "}\n"
    ).encode(),
    "non-utf8": MINIMAL.replace("shop", "sh\udcffop").encode("utf-8", "surrogateescape"),
    "latin1": "version: 1\nproject: café\n".encode("latin-1"),
    "utf16": MINIMAL.encode("utf-16"),
    "nul-byte": MINIMAL.replace("fsn1", "fsn1\x00").encode(),
    "empty": b"",
    "only-comments": b"# nothing here\n",
    "list-at-top": b"- version: 1\n- project: shop\n",
    "scalar-at-top": b"just some text\n",
    "document-stream": (MINIMAL + "---\n" + MINIMAL).encode(),
    "huge-integer": MINIMAL.replace("8080", "9" * 5_000).encode(),
    "big-integer": MINIMAL.replace("8080", "9" * 40).encode(),
    "bad-date": MINIMAL.replace("shop", "2024-02-30").encode(),
    "unicode-names": MINIMAL.replace("web", "wéb")
    .replace("shop", "日本")
    .replace("production", "prödüction")
    .encode(),
    "rtl-and-zero-width": MINIMAL.replace("web", "w\u200beb\u202e").encode(),
    "number-key": MINIMAL.replace("  web:", "  1:").encode(),
    "mapping-key": MINIMAL.replace("  web:", "  ? {a: 1}\n  :").encode(),
    "list-key": MINIMAL.replace("  web:", "  ? [a, b]\n  :").encode(),
    "bool-and-null-keys": MINIMAL.replace("  web:", "  true:\n    image: nginx\n  ~:").encode(),
    "python-tag": MINIMAL.replace("shop", '!!python/object/apply:os.system ["touch /tmp/pwned"]').encode(),
    "unknown-tag": MINIMAL.replace("shop", "!secret shop").replace("8080", "!!str 8080").encode(),
    "binary-tag": MINIMAL.replace("shop", "!!binary aGVsbG8=").encode(),
    "merge-key-bomb": (MINIMAL + "b: &b {x: 1}\nc:\n  <<: [" + ", ".join(["*b"] * 5000) + "]\n").encode(),
    "long-line": MINIMAL.replace("ghcr.io/acme/web:1.0", "a" * 1_000_000).encode(),
    "many-apps-broken": (
        "version: 1\nproject: shop\nregion: fsn1\nenvironments: {production: {}}\napps:\n"
        + "".join(f"  a{i}: {{image: 'BAD IMAGE', port: 0}}\n" for i in range(500))
    ).encode(),
    "unclosed-quote": MINIMAL.replace("fsn1", '"fsn1').encode(),
    "unclosed-flow": MINIMAL.replace("production: {}", "production: {").encode(),
    "bom-then-garbage": b"\xef\xbb\xbf: : :\n",
    "crlf-and-cr": MINIMAL.replace("\n", "\r").replace("fsn1", "fsn9").encode(),
    "control-characters": MINIMAL.replace("shop", '"sh\\x1b[31mop\\u2028x"').encode(),
    "lone-surrogate-escape": MINIMAL.replace("shop", '"\\ud800"').encode(),
    "infinite-and-nan": MINIMAL.replace("8080", ".inf").replace("fsn1", ".nan").encode(),
    "negative-and-zero": MINIMAL.replace("8080", "-1\n    instances: {min: 0, max: -5}").encode(),
}


def run(spec: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unhazzle", *args, str(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def assert_located(err: str, spec: Path) -> list[re.Match[str]]:
    lines = err.rstrip("\n").split("\n")
    matches = [LOCATED.match(line) for line in lines]
    assert lines and all(matches), err
    found = [m for m in matches if m]
    for match in found:
        assert match["file"] == str(spec)
        assert int(match["line"]) >= 1 and int(match["col"]) >= 1
        assert not KUBERNETES_WORDS.search(match["message"]), match["message"]
    return found


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_exits_2_located_fast(case: str, tmp_path: Path, cli):
    spec = tmp_path / "unhazzle.yaml"
    spec.write_bytes(HOSTILE[case])
    started = time.process_time()  # CPU time: a loaded machine must not fail the guard
    result = cli("validate", str(spec))
    elapsed = time.process_time() - started
    assert result.code == 2, result.out + result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    assert_located(result.err, spec)
    assert elapsed < 5, f"{case} took {elapsed:.1f} s"  # a loose guard; bench/ measures speed


def test_hostile_input_deep_nesting_is_refused_where_it_goes_past_the_limit(tmp_path: Path, cli):
    # a quote that an escaped backslash or a doubled ' ends hides none of the brackets after it;
    # the 201st level (the file's mapping, two lists, then the run) is the run's 198th bracket
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text("apps: " + '["a\\\\", ' + "['it''s', " + "[" * 100_000 + "\n", encoding="utf-8")
    result = cli("validate", str(spec))
    assert result.code == 2
    assert result.err == f"{spec}:1:222: error: values nest too deeply (more than 200 levels)\n"
    spec.write_text("apps:\n  " + "- " * 300 + "x\n", encoding="utf-8")
    assert (
        cli("validate", str(spec)).err
        == f"{spec}:2:401: error: values nest too deeply (more than 200 levels)\n"
    )


def test_hostile_input_50_mb_file_is_refused_by_size_at_once(tmp_path: Path):
    spec = tmp_path / "unhazzle.yaml"
    with spec.open("wb") as handle:
        handle.write(MINIMAL.encode())
        handle.write(b"# padding\n" * (5 * 1024 * 1024))
    started = time.monotonic()
    result = run(spec, "validate")
    assert result.returncode == 2
    assert result.stderr.startswith(f"{spec}:1:1: error: file is 52.4 MB; a spec may be at most 4 MB")
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 10


def test_an_anchor_defined_again_is_read_as_yaml_reads_it_and_nothing_is_said(tmp_path: Path):
    # the later definition is the one aliases name; a tag sends the file to the round-trip
    # parser, which warned on stderr
    spec = tmp_path / "unhazzle.yaml"
    again = "    env: &e {A: '1'}\n  api:\n    image: a/b:1\n    env: &e {B: !!str 2}\n  x:\n    image: a/c:1\n    env: *e\n"
    spec.write_text(MINIMAL + again, encoding="utf-8")
    result = run(spec, "validate")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


def test_a_comment_before_a_value_over_lines_is_read_and_an_edit_of_it_refused_plainly(cli, tmp_path: Path):
    # valid YAML the round-trip parser fails on ("overlap in comment"); a `!` in the comment
    # sends the file there: it is read all the same, and an edit, which needs that parser to
    # keep the comments, says why it cannot be made (exit 2, not an internal error)
    spec = tmp_path / "unhazzle.yaml"
    text = MINIMAL.replace("project: shop\n", "project: # our shop!\n  shop\n\n")
    spec.write_text(text, encoding="utf-8")
    assert cli("validate", str(spec)).code == 0
    result = cli("env", "set", "web", "A=1", "--spec", str(spec))
    assert result.code == 2 and result.err.startswith(f"{spec}:1:1: error: cannot be edited: ")
    assert spec.read_text(encoding="utf-8") == text


def test_hostile_input_python_tag_runs_nothing(tmp_path: Path, cli):
    marker = tmp_path / "pwned"
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(MINIMAL.replace("shop", f'!!python/object/apply:os.system ["touch {marker}"]'))
    assert cli("validate", str(spec)).code == 2
    assert not marker.exists()


@pytest.mark.parametrize(
    "command", [["validate"], ["plan"], ["plan", "--output", "json"], ["render", "--out", "x"]]
)
def test_hostile_input_no_traceback_from_a_real_process(tmp_path: Path, command: list[str]):
    spec = tmp_path / "unhazzle.yaml"
    spec.write_bytes(HOSTILE["billion-laughs"])
    result = run(spec, *command)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert_located(result.stderr, spec)


FIVE_MISTAKES = MINIMAL.replace("version: 1", "version: 2").replace("project: shop", "project: Shop") + (
    "    domains: [shop.example.com]\n"
    "    env:\n      API_URL: ${apps.apii.url}\n"
    "    profile: {traffic: hgh}\n"
)


def test_hostile_input_reports_every_mistake_at_once(write_spec, cli):
    spec = write_spec(FIVE_MISTAKES)
    result = cli("validate", str(spec))
    assert result.code == 2
    found = assert_located(result.err, spec)
    assert [int(m["line"]) for m in found] == [1, 2, 10, 12, 13]
    assert [m["message"].split(": ")[0] for m in found if int(m["line"]) != 12] == [
        "version",
        "project",
        "apps.web.domains",
        "apps.web.profile.traffic",
    ]
    assert "names no app 'apii'" in found[3]["message"]
    assert "did you mean 'high'?" in found[-1]["message"]


BAD_SPECS = {
    "unknown key": MINIMAL.replace("port: 8080", "prot: 8080"),
    "bad region": MINIMAL.replace("fsn1", "us-east-1"),
    "bad image": MINIMAL.replace("ghcr.io/acme/web:1.0", "Not An Image"),
    "bad name": MINIMAL.replace("  web:", "  Web_App:"),
    "long namespace": MINIMAL.replace("project: shop", "project: " + "p" * 30).replace(
        "production: {}", "productionproductionn: {}"
    ),
    "domains on private": MINIMAL + "    domains: [a.example.com]\n",
    "public without port": MINIMAL.replace("    port: 8080\n", "    public: true\n"),
    "min over max": MINIMAL + "    instances: {min: 5, max: 2}\n",
    "unknown database": MINIMAL + "    databases: [main]\n",
    "reference to worker": MINIMAL + "    env: {X: '${apps.w.url}'}\n  w:\n    image: nginx\n",
    "override unknown app": MINIMAL.replace("production: {}", "production: {apps: {api: {port: 1}}}"),
    "override bad value": MINIMAL.replace(
        "production: {}", "production: {apps: {web: {instances: {max: 0}}}}"
    ),
    "setting and secret": MINIMAL + "    env: {KEY: x}\n    secrets: [KEY]\n",
    "bad size": MINIMAL + "    size: {cpu: 100, memory: lots}\n",
    "bad volume": MINIMAL + "    volume: {size: 0GB, path: data}\n",
    "bad health": MINIMAL + "    health: {path: healthz}\n",
    "bad setting": MINIMAL + "    env: {A: [1, 2], B: ~, 1X: y}\n",
    "bad profile": MINIMAL + "    profile: {traffic: insane, latency: 3, workload: batch}\n",
    "missing everything": "version: 1\n",
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_hostile_input_errors_use_no_kubernetes_words(case: str, write_spec, cli):
    spec = write_spec(BAD_SPECS[case])
    for command in (
        ["validate"],
        ["plan"],
        ["explain", "web"],
        ["render", "--out", str(spec.parent / "out")],
    ):
        args = [command[0], str(spec), *command[1:]]
        result = cli(*args)
        assert result.code == 2, (case, result.out, result.err)
        assert_located(result.err, spec)
        assert not KUBERNETES_WORDS.search(result.err), result.err


@pytest.mark.parametrize("spec", sorted(EXAMPLES.glob("*/unhazzle.yaml")), ids=lambda p: p.parent.name)
def test_hostile_input_plan_output_uses_no_kubernetes_words(spec: Path, cli):
    text = cli("plan", str(spec))
    data = cli("plan", str(spec), "--output", "json")
    assert text.code == data.code == 0
    # URLs name the cluster's service addresses; the words around them are what users read
    words = re.sub(r"\S+://\S+", "", text.out + data.out)
    assert not KUBERNETES_WORDS.search(words), KUBERNETES_WORDS.search(words)
    json.loads(data.out)
    for app in [a for e in json.loads(data.out)["environments"] for a in e["apps"]]:
        assert not KUBERNETES_WORDS.search(" ".join(map(str, app))), app


# -- hostile values render as exactly themselves ------------------------------------------------

HOSTILE_VALUES = [
    "line one\nline two",
    "---\nkind: Secret\nmetadata: {name: evil}",
    "{{ 7 * 7 }} {% if true %}x{% endif %} {# c #}",
    "\"double\" and 'single' quotes \\ backslash",
    "value\n    injected: true",
    "key: value",
    "- item",
    "# not a comment",
    "&anchor *alias ! % @ `",
    "trailing space ",
    " leading",
    "",
    "null",
    "true",
    "0o777",
    "\t tab \r carriage \x1b escape \x7f del",
    "\u2028 line separator \x85 next line \ufeff bom",
    "émoji 😀 𐀀 日本語",
    "... end of document",
]


def health_path(value: str) -> str:
    return "/" + re.sub(r"\s", "", value)  # a path holds no spaces; the rest stays hostile


def hostile_spec(value: str) -> str:
    spec: dict[str, Any] = yaml.safe_load(MINIMAL)
    spec["apps"]["web"].update(
        command=[value, value],
        args=[value],
        env={"HOSTILE": value, "OTHER": "plain"},
        health={"path": health_path(value)},
        volume={"size": "1GB", "path": "/data/" + value.replace("\n", "")},
    )
    # ruamel writes YAML 1.2, as the loader reads it (PyYAML would leave 0o777 unquoted)
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(spec, out)
    return out.getvalue()


def container_of(files: dict[str, str]) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    found = objects(files)
    deployment = next(o for _, o in found if o["kind"] == "Deployment")
    return found, deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[json.dumps(v)[:30] for v in HOSTILE_VALUES])
def test_hostile_input_values_render_as_themselves(value: str):
    baseline, plain = container_of(render_text(hostile_spec("plain")))
    found, container = container_of(render_text(hostile_spec(value)))
    assert [(f, o["kind"], o["metadata"]["name"]) for f, o in found] == [
        (f, o["kind"], o["metadata"]["name"]) for f, o in baseline
    ]
    assert set(container) == set(plain)
    assert container["command"] == [value, value] and container["args"] == [value]
    assert container["env"] == [{"name": "HOSTILE", "value": value}, {"name": "OTHER", "value": "plain"}]
    assert container["readinessProbe"]["httpGet"]["path"] == health_path(value)
    assert container["volumeMounts"][-1]["mountPath"] == "/data/" + value.replace("\n", "")


def test_hostile_input_values_survive_a_strict_yaml_parser():
    # PyYAML above is YAML 1.1; ruamel here reads as YAML 1.2, as Go's parsers do.
    for value in HOSTILE_VALUES:
        text = render_text(hostile_spec(value))["production/web.yaml"]
        docs = list(YAML(typ="safe", pure=True).load_all(text))
        deployment = next(d for d in docs if d["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["env"][0]["value"] == value


def test_hostile_input_explain_and_plan_use_no_kubernetes_words_for_checks_and_servers(cli, write_spec):
    # the words of health checks, servers and sizes are the user's too: no probes, readiness,
    # liveness, nodes, requests, limits or throttling
    spec = write_spec(MINIMAL + "    health: {path: /healthz}\n")
    words = re.compile(r"\b(probes?|readiness|liveness|nodes?|requests?|limits?|throttled)\b", re.IGNORECASE)
    for args in (
        ("explain", str(spec), "web"),
        ("plan", str(spec)),
        ("plan", str(spec), "--output", "markdown"),
    ):
        result = cli(*args)
        assert result.code == 0, result.err
        assert not words.search(result.out), (args, words.search(result.out))
        assert not KUBERNETES_WORDS.search(re.sub(r"\S+://\S+", "", result.out)), args


def test_hostile_input_huge_project_name_is_one_short_error(cli, write_spec):
    spec = write_spec(MINIMAL.replace("project: shop", "project: " + "a" * 100_000))
    result = cli("validate", str(spec))
    assert result.code == 2
    assert len(result.err.splitlines()) == 1
    assert "is too long: at most 30 characters" in result.err
    assert len(result.err) < 300


def test_hostile_input_huge_names_are_quoted_back_shortened(cli, write_spec):
    huge = "b" * 1000  # YAML allows keys up to 1024 characters
    spec = write_spec(
        MINIMAL
        + f"    databases: [{huge}]\n    env:\n      A: '${{apps.{huge}.url}}'\n    {huge}: 1\n{huge}: 2\n"
    )
    result = cli("validate", str(spec))
    assert result.code == 2
    lines = result.err.splitlines()
    assert len(lines) >= 4
    for line in lines:
        assert LOCATED.match(line), line
        assert len(line) < 400, line[:200]
    assert any("unknown key 'bbbbbbbbbb" in line and "...'" in line for line in lines)
