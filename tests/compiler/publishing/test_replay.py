"""Publishing a new image without compiling again (compiler/publishing/replay.py): a replay
gives exactly the files a compile gives, and whatever it cannot be sure of is compiled."""

from __future__ import annotations

import argparse
import hashlib
import json
import marshal
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.support.gitrepos import GIT_ENV, bare_repo, git, tree_files
from unhazzle.commands.publish import _files
from unhazzle.compiler.pipeline import Compiled, compile_file
from unhazzle.compiler.publishing import imageslots, replay, replaykey
from unhazzle.compiler.publishing.index import Source
from unhazzle.compiler.rendering import render

# Every kind of image slot: a tag, a digest (quoted), a tag and a digest, a registry with a port,
# an environment's override (in flow style), a scheduled job's image; Datadog's version label,
# which derives from the tag or the digest; release steps, whose names are digests of the image.
SPEC = """\
version: 1
project: shop
region: fsn1
observability: {datadog: {enabled: DATADOG}}
environments:
  production:
    apps:
      web: {image: OVERRIDE, instances: {min: 2, max: 4}}
  staging: {}
apps:
  web:
    image: WEB   # the storefront
    port: 8080
    release: {command: [migrate]}
  api:
    image: 'API'
    port: 8080
  worker:
    image: "WORKER"
    release: {command: [migrate, --all]}
  edge:
    image: EDGE
    port: 8080
jobs:
  report:
    image: JOB
    schedule: "0 3 * * *"
"""
SLOTS = {  # name in SPEC -> (repository, tagged, pinned), in the order the file writes them
    "OVERRIDE": ("ghcr.io/acme/web", True, False),
    "WEB": ("ghcr.io/acme/web", True, False),
    "API": ("ghcr.io/acme/api", False, True),
    "WORKER": ("registry.example.com:5000/acme/worker", True, True),
    "EDGE": ("nginx", True, False),
    "JOB": ("ghcr.io/acme/report", True, False),
}
FIRST = {
    "OVERRIDE": "ghcr.io/acme/web:1.0-prod",
    "WEB": "ghcr.io/acme/web:1.0",
    "API": "ghcr.io/acme/api@sha256:" + "a" * 64,
    "WORKER": "registry.example.com:5000/acme/worker:2.1@sha256:" + "b" * 64,
    "EDGE": "nginx:1.25",
    "JOB": "ghcr.io/acme/report:7",
}
ARGS = argparse.Namespace(pin_digests=False)
NO_SOURCE = Source()

# the version label trims '-', '.' and '_' from the ends of a tag and cuts it at 63 characters
tags = st.sampled_from(
    ["latest", "1", "_", "1.10", "a-", "_a.", "x" * 128, "_" + "y" * 62 + "-z"]
) | st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
digests = st.from_regex(r"\A[a-f0-9]{64}\Z")
sources = st.builds(
    Source,
    repo=st.text(max_size=30),
    commit=st.from_regex(r"\A[0-9a-f]{0,40}\Z"),
    message=st.text(max_size=40),
    spec_sha256=st.from_regex(r"\A[0-9a-f]{64}\Z"),
)


@st.composite
def images(draw: st.DrawFn) -> dict[str, str]:
    """A new image for every slot, of the slot's shape."""
    out = {}
    for name, (repository, tagged, pinned) in SLOTS.items():
        tag = f":{draw(tags)}" if tagged else ""
        digest = f"@sha256:{draw(digests)}" if pinned else ""
        out[name] = repository + tag + digest
    return out


def spec_with(chosen: dict[str, str], *, datadog: bool) -> str:
    text = SPEC.replace("DATADOG", "true" if datadog else "false")
    for name in sorted(chosen, key=len, reverse=True):  # OVERRIDE before the names inside others
        text = text.replace(name, chosen[name], 1)
    return text


def compiled_files(spec: Path, source: Source) -> tuple[Compiled, dict[str, bytes]]:
    compiled = compile_file(spec)
    return compiled, _files(compiled, ARGS, source)


def placeholders(compiled: Compiled, source: Source) -> dict[str, bytes]:
    return _files(compiled, ARGS, source, placeholders=True)


def made(spec: Path) -> None:
    """The cache has served a publish before: not its first (which makes no record)."""
    replay._record_path(spec).parent.mkdir(parents=True, exist_ok=True)


def again(spec: Path) -> tuple[str, dict[str, bytes]] | None:
    """What publishing the spec now would replay (None: it compiles)."""
    return replay.replayed(spec, spec.read_bytes(), replaykey.key(spec), Source)


def recorded(spec: Path, source: Source = NO_SOURCE) -> replay.Record:
    compiled, files = compiled_files(spec, source)
    made(spec)
    assert replay.remember(spec, replaykey.key(spec), compiled, files, source, placeholders)
    found = replay._read(replay._record_path(spec), replaykey.key(spec))
    assert found is not None
    return found


@pytest.mark.parametrize("datadog", [False, True])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new=images(), source=sources)
def test_a_replay_equals_a_compile_of_the_new_images(tmp_path: Path, datadog: bool, new, source) -> None:
    spec = tmp_path / f"dd-{datadog}" / "unhazzle.yaml"
    if not spec.exists():
        spec.parent.mkdir()
        spec.write_text(spec_with(FIRST, datadog=datadog))
        recorded(spec)
    spec.write_text(spec_with(new, datadog=datadog))
    spec_bytes = spec.read_bytes()
    replayed = replay.replayed(spec, spec_bytes, replaykey.key(spec), lambda: source)
    assert replayed is not None
    project, files, _ = replayed
    assert project == "shop"
    assert files == compiled_files(spec, source)[1]


def test_the_record_names_every_slot_in_the_order_the_file_writes_them(tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=True))
    record = recorded(spec)
    assert [(s.repository, s.tagged, s.pinned) for s in record.slots] == list(SLOTS.values())
    rebuilt = "".join(s + i for s, i in zip(record.segments, [*FIRST.values(), ""], strict=True))
    assert rebuilt == spec.read_text()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (("port: 8080\n", "port: 8081\n"), "a setting outside the images"),
        (("# the storefront", "# the shop"), "a comment: the text must be the same to the character"),
        (("web:1.0 ", "shop:1.0 "), "another repository"),
        (("web:1.0 ", "web "), "a tag taken away"),
        (("web:1.0 ", "web:1.0@sha256:" + "c" * 64 + " "), "a digest added"),
        (("web:1.0 ", "web:-bad "), "a tag the model refuses"),
        (("web:1.0 ", "web:" + "x" * 129 + " "), "a tag too long"),
        (("web:1.0 ", "web:1.0\t"), "a tab for a space after the image"),
        (("nginx:1.25", "nginx:0000c0det00001x_"), "a placeholder's own text"),
        (("report:7\n", "report:7 # x\n"), "a comment added"),
        (("report:7\n", "report:7,x\n"), "a character no image holds"),
    ],
)
def test_anything_but_new_images_of_the_same_shape_is_compiled(tmp_path: Path, change, why) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    recorded(spec)
    old, new = change
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new, 1))
    assert again(spec) is None, why


def test_a_secrets_file_changed_next_to_the_spec_is_compiled(tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    recorded(spec)
    assert again(spec) is not None
    (tmp_path / "unhazzle.secrets").mkdir()
    (tmp_path / "unhazzle.secrets" / "production.yaml").write_text("format: 1\n")
    assert again(spec) is None


def test_a_damaged_record_is_compiled(tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    recorded(spec)
    path = replay._record_path(spec)
    whole = path.read_bytes()
    for damaged in (
        whole.replace(b"0000c0det00001x", b"0000c0deT00001x"),  # a placeholder the replay would leave
        whole[: len(whole) // 2],
        b"",
        b"[]",
        b'{"format": 1}',
        whole.replace(b"t00001x_", b"t09999x_"),
        whole.partition(b"\n")[0] + b"\n" + marshal.dumps([1, 2]),  # the right key, a body of another shape
        whole.partition(b"\n")[0] + b"\n\xff\xfe",  # not marshal's format
    ):
        path.write_bytes(damaged)
        assert again(spec) is None


def test_a_release_step_is_named_for_the_new_image(tmp_path: Path) -> None:
    """Its name is a digest of all it runs with, the image too: a new version, a new step."""
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    record = recorded(spec)
    assert len(record.releases) == 3  # web in production (its own image) and staging; worker in both
    before = compiled_files(spec, NO_SOURCE)[1]
    spec.write_text(spec_with({**FIRST, "WEB": "ghcr.io/acme/web:1.1"}, datadog=False))
    replayed = again(spec)
    assert replayed is not None
    after = replayed[1]
    assert after == compiled_files(spec, NO_SOURCE)[1]
    step = re.compile(rb"web-release-[0-9a-f]{10}")
    old, new = (step.findall(files["shop/staging/web.yaml"]) for files in (before, after))
    assert len(set(old)) == len(set(new)) == 1 and old != new
    for unchanged in ("shop/production/web.yaml", "shop/staging/worker.yaml"):  # production's own image
        assert after[unchanged] == before[unchanged]


@pytest.mark.parametrize(
    "written",
    [
        "    image: &web ghcr.io/acme/web:1.0\n",  # an anchor: the value is not where the key is
        "    image: >-\n      ghcr.io/acme/web:1.0\n",  # a block scalar
        '    image: "ghcr.io/acme/\\x77eb:1.0"\n',  # an escape
        "    image: !!str ghcr.io/acme/web:1.0\n",  # a tag
    ],
)
def test_an_image_written_otherwise_than_plainly_is_not_a_slot(tmp_path: Path, written: str) -> None:
    spec = tmp_path / "unhazzle.yaml"
    text = spec_with(FIRST, datadog=False).replace(
        "    image: ghcr.io/acme/web:1.0   # the storefront\n", written
    )
    spec.write_text(text)
    document = compile_file(spec).document
    paths = imageslots.slot_paths(document.data)
    values = [(replay._at(document.data, p), document.positions.values[p]) for p in paths]
    assert imageslots.spans(document.text, values) is None


@pytest.mark.parametrize(
    ("slot", "image", "fits"),
    [
        (("ghcr.io/acme/web", True, False), "ghcr.io/acme/web:2", True),
        (("ghcr.io/acme/web", True, False), "ghcr.io/acme/web:_x", True),
        (("ghcr.io/acme/web", True, False), "ghcr.io/acme/web:.x", False),  # the model's tag grammar
        (("ghcr.io/acme/web", True, False), "ghcr.io/acme/web:", False),
        (("host:5000/web", True, False), "host:5000/web:2", True),
        (("host:5000/web", False, False), "host:5001/web", False),
        (("redis", True, False), "redis:7.4", True),
        (("123", True, False), "123:45", False),  # YAML could read a number
        (("web", False, True), "web@sha256:" + "A" * 64, False),
        (("web", False, True), "web@sha256:" + "a" * 63, False),
        (("web", False, True), "web@sha256:" + "a" * 64, True),
    ],
)
def test_an_image_fits_a_slot_of_its_shape_only(slot, image: str, fits: bool) -> None:
    assert imageslots.fits(imageslots.Slot(*slot), image) is fits


def test_a_placeholder_is_an_image_of_its_slot_shape() -> None:
    for n, shape in enumerate(SLOTS.values()):
        slot = imageslots.Slot(*shape)
        assert imageslots.slot_of(imageslots.placeholder(n, slot)) == slot


# --- the command ------------------------------------------------------------------------------


def _publish(
    spec: Path, remote: Path, cache: Path, *extra: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`unhazzle publish` as a process (*stdin*: what it reads there), reporting on stderr's last
    line whether it imported the compiler's model."""
    code = (
        "import sys\nfrom unhazzle.cli import main\ncode = main(sys.argv[1:])\n"
        "print('compiled' if 'pydantic' in sys.modules else 'replayed', file=sys.stderr)\nsys.exit(code)\n"
    )
    env = {**GIT_ENV, "UNHAZZLE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", code, "publish", str(spec), "--to", f"file://{remote}", *extra]
    return subprocess.run(
        argv, input=stdin, env=env, capture_output=True, text=True, check=False, timeout=120
    )


def test_publish_replays_a_new_tag_and_pushes_what_a_compile_pushes(tmp_path: Path) -> None:
    spec = tmp_path / "src" / "unhazzle.yaml"
    spec.parent.mkdir()
    spec.write_text(spec_with(FIRST, datadog=True))
    git("init", "--quiet", cwd=spec.parent)
    git("add", ".", cwd=spec.parent)
    git("commit", "--quiet", "-m", "first", cwd=spec.parent)
    remote, other = bare_repo(tmp_path / "env.git"), bare_repo(tmp_path / "other.git")
    # a new cache's first publish makes no record (a runner that starts empty every time would
    # never read it); the next one does
    for n in (1, 2):
        spec.write_text(spec_with({**FIRST, "EDGE": f"nginx:1.{n}"}, datadog=True))
        git("commit", "--quiet", "-am", f"edge 1.{n}", cwd=spec.parent)
        done = _publish(spec, remote, tmp_path / "cache")
        assert done.returncode == 0 and done.stderr.strip() == "compiled", done.stderr
        assert (tmp_path / "cache" / "replay" / replay._record_path(spec).name).exists() is (n == 2)

    new = {"EDGE": "nginx:1.2", "WEB": "ghcr.io/acme/web:1.1", "API": "ghcr.io/acme/api@sha256:" + "d" * 64}
    spec.write_text(spec_with({**FIRST, **new}, datadog=True))
    git("commit", "--quiet", "-am", 'web 1.1 "quoted"', cwd=spec.parent)
    again = _publish(spec, remote, tmp_path / "cache", "--output", "json")
    assert again.returncode == 0 and again.stderr.strip() == "replayed", again.stderr
    fresh = _publish(spec, other, tmp_path / "fresh-cache")
    assert fresh.stderr.strip() == "compiled"
    assert tree_files(remote) == tree_files(other)
    ours = json.loads(again.stdout)
    assert {f["path"] for f in ours["files"]} == {
        "shop/production/_index.json",
        "shop/production/api.yaml",
        "shop/staging/_index.json",
        "shop/staging/api.yaml",
        "shop/staging/web.yaml",
    }
    index = json.loads(tree_files(remote)["shop/staging/_index.json"])
    assert index["source"]["message"] == 'web 1.1 "quoted"'
    assert index["apps"]["web"]["image"] == "ghcr.io/acme/web:1.1"
    assert ours["message"].split("\n")[0] == "shop: 2 environments changed (production, staging)"
    assert "web image 1.0 -> 1.1" in ours["message"]


def test_publish_of_a_bad_new_image_reports_it_as_a_compile_does(tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    remote = bare_repo(tmp_path / "env.git")
    assert _publish(spec, remote, tmp_path / "cache").returncode == 0
    spec.write_text(spec.read_text().replace("web:1.0 ", "web:1.0:2 "))
    bad = _publish(spec, remote, tmp_path / "cache")
    assert bad.returncode == 2
    assert "unhazzle.yaml:12:" in bad.stderr and "compiled" in bad.stderr


def test_publish_of_a_spec_from_a_pipe_reads_it_once(tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    remote = bare_repo(tmp_path / "env.git")
    assert _publish(spec, remote, tmp_path / "cache").returncode == 0
    new = spec_with({**FIRST, "WEB": "ghcr.io/acme/web:2.0"}, datadog=False)
    piped = _publish(Path("/dev/stdin"), remote, tmp_path / "cache", stdin=new)
    assert piped.returncode == 0, piped.stderr
    assert b"ghcr.io/acme/web:2.0" in tree_files(remote)["shop/staging/web.yaml"]
    index = json.loads(tree_files(remote)["shop/staging/_index.json"])
    assert index["source"]["spec_sha256"] == hashlib.sha256(new.encode()).hexdigest()  # not of nothing


def test_the_first_publish_with_a_new_cache_pays_nothing_for_a_record(tmp_path: Path) -> None:
    """A runner that starts empty every time would never read one: no record, no key."""
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    done = _publish(spec, bare_repo(tmp_path / "env.git"), tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "cache" / "replay").is_dir()
    assert list((tmp_path / "cache" / "replay").iterdir()) == []


def test_a_secrets_file_written_while_publishing_keeps_no_record(tmp_path: Path) -> None:
    """The key is taken before the compile reads the secrets files: a record is kept only when
    it still holds after, so a record never pairs old files with a new key."""
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False))
    made(spec)
    before = replaykey.key(spec)
    compiled, files = compiled_files(spec, NO_SOURCE)
    (tmp_path / "unhazzle.secrets").mkdir()
    (tmp_path / "unhazzle.secrets" / "staging.yaml").write_text("format: 1\n")
    assert not replay.remember(spec, before, compiled, files, NO_SOURCE, placeholders)
    assert not replay._record_path(spec).exists()


@pytest.mark.parametrize("breaks", ["\r", "\x85", "\u2028"])
def test_a_spec_with_line_breaks_other_than_newlines_keeps_no_record(tmp_path: Path, breaks: str) -> None:
    """YAML counts them as line breaks too: the parser's positions are not the text's lines."""
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=False).replace("# the storefront", f"# the{breaks}# storefront"))
    document = compile_file(spec).document
    paths = imageslots.slot_paths(document.data)
    values = [(replay._at(document.data, p), document.positions.values[p]) for p in paths]
    assert imageslots.spans(document.text, values) is None


def test_the_code_counts_by_content_not_by_file_times(tmp_path: Path) -> None:
    """A reinstall (every file new, the same bytes) keeps the records; a file changed with its
    time put back does not."""
    root = tmp_path / "package"
    (root / "templates").mkdir(parents=True)
    template = root / "templates" / "app.yaml.j2"
    template.write_text("revisionHistoryLimit: 5\n")
    (root / "__init__.py").write_text("")
    first = replaykey.code_digest([str(root)])
    for path in (template, root / "__init__.py"):
        os.utime(path, ns=(1, 1))
    assert replaykey.code_digest([str(root)]) == first
    template.write_text("revisionHistoryLimit: 9\n")
    os.utime(template, ns=(1, 1))
    assert replaykey.code_digest([str(root)]) != first


def test_the_code_key_covers_every_library_a_compile_and_render_import() -> None:
    """A library the compile runs but the key leaves out could change under a record unseen."""
    probe = (
        "import sys, sysconfig\n"
        "from unhazzle.compiler.pipeline import compile_file\n"
        "from unhazzle.compiler.rendering.render import render_plan\n"
        "from unhazzle.compiler.rendering.reuse import Reuse\n"
        f"plan = compile_file(__import__('pathlib').Path({str(ROOT / 'examples/shop/unhazzle.yaml')!r})).plan\n"
        "render_plan(plan, reuse=Reuse.for_project(plan.project))\n"
        "places = {sysconfig.get_paths()[k] for k in ('purelib', 'platlib')}\n"
        "print(' '.join(sorted({name.split('.')[0] for name, module in list(sys.modules.items())\n"
        "    if any(str(getattr(module, '__file__', None) or '').startswith(p) for p in places)})))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    imported = set(done.stdout.split()) - {
        "_distutils_hack"
    }  # setuptools' start-up hook, not run by a compile
    imported = {
        name for name in imported if not name.startswith("__editable__")
    }  # an editable install's finder
    covered = {name.split(".")[0] for name in replaykey.LIBRARIES}
    assert "pydantic" in imported and imported <= covered, imported - covered


# Every place the compiler reads an image: each is either the image as it is (placed by the
# placeholder) or goes through rendering/imagederived.py, which the replay applies too. A new one
# must be one of these, or the replay must learn it (publishing/replay.py).
IMAGE_READS = {
    "unhazzle/templates/_pod.j2": ["image: {{ app.image }}", "imagePullPolicy: {{ app.pull_policy }}"],
    "unhazzle/templates/app/deployment.yaml.j2": ["unhazzle.io/image: {{ app.image }}"],
}


def test_every_use_of_an_image_is_one_the_replay_knows() -> None:
    for path in sorted((ROOT / "unhazzle" / "templates").rglob("*.j2")):
        lines = [line.strip() for line in path.read_text().splitlines() if "image" in line and "{{" in line]
        assert lines == IMAGE_READS.get(str(path.relative_to(ROOT)), []), path
    reads = re.compile(r"\.image\b|\[[\"']image[\"']\]|get\([\"']image[\"']")
    found = {}
    compile_stages = ["spec", "rules", "planning", "secrets", "rendering"]  # and the index: the files
    paths = [
        p for stage in compile_stages for p in sorted((ROOT / "unhazzle" / "compiler" / stage).rglob("*.py"))
    ]
    for path in [*paths, ROOT / "unhazzle" / "compiler" / "publishing" / "index.py"]:
        hits = [line.strip() for line in path.read_text().splitlines() if reads.search(line)]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {
        "unhazzle/compiler/publishing/index.py": ['"image": app.app.image,', '"image": job.job.image,'],
        "unhazzle/compiler/planning/plan.py": [  # warnings of an image of no version: in no file
            'warnings=_image_warnings(job.image, "each run starts whatever it is then"),',
            "*_image_warnings(app.image, _app_runs(app)),",
        ],
        "unhazzle/compiler/rendering/render.py": [
            '"""jinja2\'s Environment, reading `app.image` from a dict view with one lookup: the default',
            "tags = datadog_tags(env.name, app.name, app.app.image) if datadog else {}",  # imagederived
            "image=app.app.image,",  # _pod_fields: the image, and its pull policy from imagederived
            "image=app.app.image,",  # a release step's, named by imagederived.release_digest
            "tags = datadog_tags(env.name, job.name, spec.image) if datadog else {}",  # imagederived
            "image=spec.image,",  # a scheduled job's
        ],
    }


def test_an_image_derived_in_a_way_the_replay_does_not_know_keeps_no_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is kept only when replaying it with the images just compiled gives the
    compiled files: a derivation the replay does not make (here a version label written
    backwards) fails that check."""
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(spec_with(FIRST, datadog=True))
    monkeypatch.setattr(render, "image_version", lambda image: image[::-1].replace(":", "-")[:63])
    compiled, files = compiled_files(spec, NO_SOURCE)
    made(spec)
    assert not replay.remember(spec, replaykey.key(spec), compiled, files, NO_SOURCE, placeholders)
    assert not replay._record_path(spec).exists()


def test_a_spec_whose_files_hold_the_placeholder_mark_keeps_no_record(tmp_path: Path) -> None:
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(
        spec_with(FIRST, datadog=False).replace(
            "    port: 8080\n", "    port: 8080\n    env: {X: 0000c0de}\n", 1
        )
    )
    compiled, files = compiled_files(spec, NO_SOURCE)
    made(spec)
    assert not replay.remember(spec, replaykey.key(spec), compiled, files, NO_SOURCE, placeholders)


def test_one_value_at_two_places_is_no_slot() -> None:
    """An alias: both paths would point at the one scalar."""
    text = "a: ghcr.io/x:1\n"
    assert imageslots.spans(text, [("ghcr.io/x:1", (1, 4)), ("ghcr.io/x:1", (1, 4))]) is None
    assert imageslots.spans(text, [("ghcr.io/x:1", (1, 4))]) == [(3, 14)]


@pytest.mark.parametrize(
    ("example", "image"), [("shop", "shop-web:1.4.2"), ("busy-api", "payapi/api:3.12.0")]
)
def test_the_examples_replay_as_they_compile(tmp_path: Path, example: str, image: str) -> None:
    """With their secrets (each environment's sealed values and the checksums in pods and
    release steps) and their release steps."""
    folder = tmp_path / example
    shutil.copytree(ROOT / "examples" / example, folder)
    spec = folder / "unhazzle.yaml"
    recorded(spec)
    spec.write_text(spec.read_text().replace(image, image.split(":")[0] + ":9.9.9"))
    replayed = again(spec)
    assert replayed is not None
    assert replayed.files == compiled_files(spec, NO_SOURCE)[1]


def test_a_piped_spec_over_the_ceiling_is_refused_as_before(tmp_path: Path) -> None:
    """Read once: a pipe is not opened again after its first bytes were used up."""
    huge = "#" * (4 * 2**20 + 100) + "\n" + spec_with(FIRST, datadog=False)
    done = _publish(Path("/dev/stdin"), bare_repo(tmp_path / "e.git"), tmp_path / "cache", stdin=huge)
    assert done.returncode == 2
    assert "/dev/stdin:1:1: error: file is larger than 4 MB" in done.stderr


def test_records_of_many_spec_files_keep_the_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "KEEP", 2)
    specs = []
    for n in range(3):
        spec = tmp_path / f"run-{n}" / "unhazzle.yaml"
        spec.parent.mkdir()
        spec.write_text(spec_with(FIRST, datadog=False))
        recorded(spec)
        specs.append(spec)
    assert [replay._record_path(spec).exists() for spec in specs] == [False, True, True]


def test_a_slots_grammar_for_tags_and_digests_is_the_models() -> None:
    """imageslots.fits may accept only what the spec model accepts: the same tag and digest
    patterns, the same longest image (it cannot import the model: that is pydantic)."""
    from annotated_types import MaxLen

    from unhazzle.compiler.spec.model import IMAGE_RE, App, Job

    assert f"(?::{imageslots.TAG.pattern})?(?:@sha256:{imageslots.DIGEST.pattern})?$" in IMAGE_RE
    for model in (App, Job):
        assert MaxLen(imageslots.MAX_IMAGE) in model.model_fields["image"].metadata
