"""`unhazzle env import`: settings merged into the spec, the user's comments and layout intact."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import MINIMAL
from tests.support.expansion import container_as_run
from tests.support.manifests import objects, render_text
from tests.support.textdiff import changed_lines
from unhazzle.compiler.editing.aliases import SharedPlace
from unhazzle.compiler.editing.flatjson import parse_flat_json
from unhazzle.compiler.editing.settings import guess_indent, merge_settings
from unhazzle.compiler.spec.load import load_bytes
from unhazzle.compiler.spec.model import ENV_VAR_RE
from unhazzle.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "data"
COMMENTED = (DATA / "commented.yaml").read_text(encoding="utf-8")


@pytest.fixture
def project(tmp_path):
    spec = tmp_path / "unhazzle.yaml"
    shutil.copy(DATA / "commented.yaml", spec)
    return spec


def write_json(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_env_import_keeps_every_comment_and_only_adds_lines(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"NEW_ONE": "a b", "OTHER": 3}')
    result = cli("env", "import", str(data), "--app", "worker", "--spec", str(project))
    assert result.code == 0, result.err
    removed, inserted = changed_lines(COMMENTED, project.read_text(encoding="utf-8"))
    assert removed == []
    assert inserted == ["    env:", "      NEW_ONE: a b", "      OTHER: 3"]
    # the new block sits above the comments that introduce what follows it
    assert project.read_text().endswith(
        "      OTHER: 3\n    # no env yet\n# trailing comment at the end of the file\n"
    )


def test_env_import_says_the_files_problems_with_the_flags_and_the_specs_at_once(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"bad key": 1, "OK": null}')
    before = project.read_bytes()
    result = cli("env", "import", str(data), "--app", "nope", "--env", "nope", "--spec", str(project))
    assert result.code == 2
    said = {line.split(": error: ", 1)[1].split(";")[0] for line in result.err.splitlines()}
    assert said == {
        "no environment named 'nope'",
        "no app named 'nope'",
        "'bad key' is not a valid name: use letters, digits and '_', not starting with a digit",
        "'OK': the value is null",
    }
    missing = cli("env", "import", str(tmp_path / "none.json"), "--app", "nope", "--spec", str(project))
    assert {line.split(": error: ", 1)[1].split(";")[0] for line in missing.err.splitlines()} == {
        "no app named 'nope'",
        "no such file",
    }
    assert project.read_bytes() == before


def test_env_names_a_job_given_as_its_app_with_the_other_problems(cli, write_spec):
    # a job's settings are its own (jobs.NAME.env): it is no app of `env`, said with the rest
    spec = write_spec(MINIMAL + "jobs:\n  report: {image: 'x:1', schedule: '@daily'}\n")
    result = cli("env", "list", "report", "--env", "nope", "--spec", str(spec))
    assert result.code == 2
    said = {line.split(": error: ", 1)[1].split(";")[0] for line in result.err.splitlines()}
    assert said == {"no environment named 'nope'", "no app named 'report'"}


def test_env_import_changes_only_changed_lines_and_keeps_quoting(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"LOG_LEVEL": "warn", "GREETING": "hello world", "NEW": true}')
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(project))
    assert result.code == 0, result.err
    removed, inserted = changed_lines(COMMENTED, project.read_text(encoding="utf-8"))
    assert removed == ['      LOG_LEVEL: "info"   # double-quoted on purpose']
    assert inserted == ['      LOG_LEVEL: "warn"   # double-quoted on purpose', "      NEW: true"]
    assert "1 added, 1 changed, 1 left alone" in result.out
    assert "changed     LOG_LEVEL" in result.out and "left alone  GREETING" in result.out


def test_env_import_env_creates_the_override(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"LOG_LEVEL": "warn"}')
    result = cli("env", "import", str(data), "--app", "web", "--env", "production", "--spec", str(project))
    assert result.code == 0, result.err
    removed, inserted = changed_lines(COMMENTED, project.read_text(encoding="utf-8"))
    assert removed == ["  production: {}      # nothing special"]
    assert inserted == [
        "  production:         # nothing special",
        "    apps:",
        "      web:",
        "        env:",
        "          LOG_LEVEL: warn",
    ]
    assert "environments.production.apps.web.env: 1 added" in result.out
    assert cli("plan", str(project), "--output", "json").code == 0


def test_env_import_env_merges_into_an_existing_override(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"LOG_LEVEL": "debug", "EXTRA": "x"}')
    result = cli("env", "import", str(data), "--app", "web", "--env", "staging", "--spec", str(project))
    assert result.code == 0, result.err
    removed, inserted = changed_lines(COMMENTED, project.read_text(encoding="utf-8"))
    assert removed == [] and inserted == ["          EXTRA: x"]


def test_env_import_dry_run_writes_nothing(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"NEW": "x"}')
    result = cli("env", "import", str(data), "--app", "web", "--dry-run", "--spec", str(project))
    assert result.code == 0
    assert "1 added" in result.out and "dry run: nothing written" in result.out
    assert project.read_text(encoding="utf-8") == COMMENTED


def test_env_import_nothing_new_leaves_the_file_untouched(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"GREETING": "hello world", "FEATURE_X": true}')
    before = project.stat().st_mtime_ns
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(project))
    assert result.code == 0 and "0 added, 0 changed, 2 left alone" in result.out
    assert project.stat().st_mtime_ns == before


def test_env_import_bad_entries_are_located_errors(cli, project, tmp_path):
    text = (
        '{\n  "OK": "x",\n  "1BAD": "x",\n  "OBJ": {"a": 1},\n  "ARR": [1],\n  "NUL": null,\n  "OK": "y"\n}\n'
    )
    data = write_json(tmp_path / "s.json", text)
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(project))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{data}:3:3: error: '1BAD' is not a valid name: use letters, digits and '_', "
        "not starting with a digit",
        f"{data}:4:10: error: 'OBJ': the value is an object; give text, a number or true/false",
        f"{data}:5:10: error: 'ARR': the value is an array; give text, a number or true/false",
        f"{data}:6:10: error: 'NUL': the value is null; give text, a number or true/false",
        f"{data}:7:3: error: 'OK' appears twice (first on line 2)",
    ]
    assert project.read_text(encoding="utf-8") == COMMENTED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "1:1: error: not valid JSON: expected an object"),
        ("[1, 2]", "1:1: error: not valid JSON: expected an object"),
        ('{"A": 1,}', "1:9: error: not valid JSON: expected a name in double quotes"),
        ('{"A": NaN}', "1:7: error: not valid JSON: NaN is not a JSON value"),
        ('{"A": 1} {}', "1:10: error: not valid JSON: extra data after the object"),
        ('{"A": "\\ud800"}', "1:7: error: 'A': holds an unpaired"),
        ('{"A": ' + "[" * 100_000 + "]" * 100_000 + "}", "error:"),
        ('{"A": -' + "1" * 5000 + "}", "1:7: error: 'A': a number with 5000 digits; write it in quotes"),
        ('{"A": 1.' + "9" * 5000 + "e5}", "1:7: error: 'A': a number with 5002 digits; write it in quotes"),
        ('{"A": "abc', '1:7: error: not valid JSON: a text that is never closed: its closing " is missing'),
        (
            '{"A": abc}',
            "1:7: error: not valid JSON: a value is missing here: text in double quotes, a number",
        ),
        ('{"A": "a\\qb"}', "1:9: error: not valid JSON: an unknown escape in a text"),
    ],
)
def test_env_import_hostile_json_is_a_located_error(cli, project, tmp_path, text, message):
    data = write_json(tmp_path / "s.json", text)
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(project))
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err
    assert project.read_text(encoding="utf-8") == COMMENTED


def test_env_import_not_utf8_is_an_error(cli, project, tmp_path):
    data = tmp_path / "s.json"
    data.write_bytes(b'{"A": "\xff"}')
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(project))
    assert result.code == 2 and "not UTF-8" in result.err


def test_env_import_result_must_still_validate(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"SESSION_KEY": "x"}')  # web lists it as a secret
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(project))
    assert result.code == 2
    assert "'SESSION_KEY' is both a setting (env) and a secret" in result.err
    assert project.read_text(encoding="utf-8") == COMMENTED


def test_env_import_a_problem_in_an_imported_value_is_located_in_the_json_file(cli, project, tmp_path):
    text = '{\n  "LOG_LEVEL": "${apps.nope.url}",\n  "API": "${apps.gone.host}"\n}\n'
    data = write_json(tmp_path / "s.json", text)  # one setting changed, one added
    for env in ([], ["--env", "staging"], ["--env", "production"]):  # the last creates the override
        result = cli("env", "import", str(data), "--app", "web", *env, "--spec", str(project))
        assert result.code == 2
        assert result.err.splitlines() == [
            f"{data}:2:16: error: '${{apps.nope.url}}' names no app 'nope'; the apps are web, worker",
            f"{data}:3:10: error: '${{apps.gone.host}}' names no app 'gone'; the apps are web, worker",
        ]
        assert project.read_text(encoding="utf-8") == COMMENTED


def test_env_import_into_settings_written_inline_locates_each_problem_at_its_own_key(cli, tmp_path):
    # `env: {X: "1"}` gets the new settings on its line: each problem is still its own setting's
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(MINIMAL + '    env: {X: "1"}\n', encoding="utf-8")
    text = '{\n  "FIRST": "${apps.one.url}",\n  "SECOND": "fine",\n  "THIRD": "${apps.three.url}"\n}\n'
    data = write_json(tmp_path / "s.json", text)
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(spec))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"{data}:2:12: error: '${{apps.one.url}}' names no app 'one'; the apps are web",
        f"{data}:4:12: error: '${{apps.three.url}}' names no app 'three'; the apps are web",
    ]


def test_env_import_counts_lines_as_the_spec_loader_does(cli, tmp_path):
    # a lone CR ends a line for the parsers: the problem's line is the one an editor shows
    spec = tmp_path / "unhazzle.yaml"
    text = MINIMAL.replace("environments:", "# a note\r# more\nenvironments:")
    spec.write_bytes((text + "    secrets: [SESSION_KEY]\n    env:\n      A: '1'\n").encode())
    data = write_json(tmp_path / "s.json", '{"NEW": "x", "SESSION_KEY": "x"}')
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(spec))
    assert result.code == 2
    assert result.err.startswith(f"{spec}:12:15: error: apps.web: 'SESSION_KEY' is both a setting")


def test_env_import_a_problem_below_the_new_lines_is_located_at_its_line_on_disk(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"NEW": "x", "SESSION_KEY": "x"}')  # web's secret: line 31
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(project))
    assert result.code == 2
    assert result.err.startswith(f"{project}:31:15: error: apps.web: 'SESSION_KEY' is both a setting")
    assert COMMENTED.split("\n")[30] == "    secrets: [SESSION_KEY]"


def test_env_set_a_problem_in_a_new_value_is_located_where_the_settings_go(cli, project):
    result = cli("env", "set", "worker", "A=${apps.nope.url}", "--spec", str(project))
    assert result.code == 2
    assert result.err.startswith(f"{project}:34:3: error: '${{apps.nope.url}}' names no app 'nope'")
    assert COMMENTED.split("\n")[33] == "  worker:"


def test_env_import_unknown_app_or_environment(cli, project, tmp_path):
    data = write_json(tmp_path / "s.json", '{"A": "x"}')
    result = cli("env", "import", str(data), "--app", "wbe", "--spec", str(project))
    assert result.code == 2 and "no app named 'wbe' (did you mean 'web'?)" in result.err
    result = cli("env", "import", str(data), "--app", "web", "--env", "prod", "--spec", str(project))
    assert result.code == 2 and "no environment named 'prod'" in result.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a:\n  b:\n  - x\n", (2, 0)),
        ("a:\n    b:\n      - x\n", (4, 2)),
        ("a:\n  - b: 1\n    c:\n      d: 1\n", (2, 2)),
    ],
)
def test_guess_indent_reads_the_files_own_layout(text, expected):
    assert guess_indent(text) == expected


SPEC = (
    "version: 1\nproject: shop\nregion: fsn1\nenvironments:\n  production: {}\n"
    "apps:\n  web:\n    image: a/b:1\n"
)
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
VALUES = st.one_of(
    # any text a program can be given (a NUL is refused: test_secrets.py)
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=40),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(NAMES, VALUES, min_size=1, max_size=6))
@example({"A": "\x85", "B": "a\u2028b", "C": " x\n\ty ", "D": "1.0", "E": "true", "F": "${{ x"})
def test_env_import_values_round_trip_exactly(values):
    entries = parse_flat_json(json.dumps(values).encode(), name="s.json")
    edit = merge_settings(SPEC, entries, app="web", environment=None)
    loaded = load_bytes(edit.text.encode("utf-8"), name="unhazzle.yaml").data
    # each setting is the app's text: a JSON number or true/false as JSON wrote it
    assert loaded["apps"]["web"]["env"] == {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()
    }


def test_env_import_numbers_reach_the_app_as_written_in_the_json():
    long = "1" * 150
    raw = f'{{"N_FLOAT": 1.50, "N_EXP": 1E+5, "N_INF": 1e999, "N_ZERO": -0, "N_INT": 42, "N_LONG": {long}}}'
    entries = parse_flat_json(raw.encode(), name="s.json")
    edit = merge_settings(SPEC, entries, app="web", environment=None)
    [deployment] = [o for _, o in objects(render_text(edit.text)) if o["kind"] == "Deployment"]
    env, _, _ = container_as_run(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env == {e.key: e.text for e in entries}  # what `secrets import` would store, too
    assert "      N_INT: 42\n" in edit.text  # an integer that reads back as written stays a number
    again = merge_settings(edit.text, entries, app="web", environment=None)
    assert again.text == edit.text and len(again.unchanged) == len(entries)


def test_env_import_left_alone_means_the_app_keeps_the_same_text():
    # `A: True` reaches the app as "True": JSON true is "true", a change; the string "True" is not
    spec = SPEC + '    env:\n      A: True\n      B: 1.10\n      C: +1\n      D: "True"\n      E: 7\n'
    entries = parse_flat_json(b'{"A": true, "B": 1.1, "C": 1, "D": "True", "E": 7}', name="s.json")
    edit = merge_settings(spec, entries, app="web", environment=None)
    assert (edit.changed, edit.unchanged) == (["A", "B", "C"], ["D", "E"])
    env = load_bytes(edit.text.encode("utf-8"), name="unhazzle.yaml").data["apps"]["web"]["env"]
    assert {k: env[k] for k in "ABCDE"} == {"A": "true", "B": "1.1", "C": "1", "D": "True", "E": "7"}
    same = parse_flat_json(b'{"A": "True", "B": "1.10", "C": "+1"}', name="s.json")
    assert merge_settings(spec, same, app="web", environment=None).text == spec


def test_env_import_an_anchored_setting_other_apps_use_is_left_alone_or_refused():
    # `B: &b True` in web and `B: *b` in api: the same text leaves both alone; a new value would
    # change api's too (or its spelling), so it is refused, naming the other place
    spec = SPEC + "    env:\n      B: &b True\n  api:\n    image: a/c:1\n    env:\n      B: *b\n"
    same = merge_settings(spec, parse_flat_json(b'{"B": "True"}', name="s.json"), app="web", environment=None)
    assert same.text == spec and same.unchanged == ["B"]
    with pytest.raises(SharedPlace, match="through the anchor &b"):
        merge_settings(spec, parse_flat_json(b'{"B": false}', name="s.json"), app="web", environment=None)
    # at the alias's place, api gets a value of its own and web keeps its own as written
    edit = merge_settings(spec, parse_flat_json(b'{"B": false}', name="s.json"), app="api", environment=None)
    env = load_bytes(edit.text.encode(), name="unhazzle.yaml").data["apps"]
    assert (env["web"]["env"]["B"], env["api"]["env"]["B"]) == ("True", "false")
    assert "      B: &b True\n" in edit.text


@pytest.mark.parametrize(
    "shared",
    [
        "    env: &common {B: &b True, C: x}\n  api:\n    image: a/c:1\n    env: *common\n",
        "    env: &e {B: &b True}\n  api:\n    image: a/c:1\n    env: {<<: *e}\n",
    ],
)
def test_env_import_a_setting_reached_through_an_alias_or_merge_becomes_the_apps_own(shared):
    edit = merge_settings(
        SPEC + shared, parse_flat_json(b'{"B": "x"}', name="s.json"), app="api", environment=None
    )
    apps = load_bytes(edit.text.encode(), name="unhazzle.yaml").data["apps"]
    assert (apps["web"]["env"]["B"], apps["api"]["env"]["B"]) == ("True", "x")


def test_parse_flat_json_keeps_number_text_for_secrets():
    (entry,) = parse_flat_json(b'{"A": 1.50}', name="s.json")
    assert entry.text == "1.50" and entry.value == 1.5


def test_parse_flat_json_hostile_is_input_error():
    with pytest.raises(InputError):
        parse_flat_json(b"\x00" * 10, name="s.json")


def test_env_import_keeps_odd_spacing_line_ends_and_document_start(cli, tmp_path):
    original = (
        "---\r\n# top\r\nversion:   1\r\nproject: shop   \r\nregion: 'fsn1'\r\n"
        "environments: {production: {}}\r\napps:\r\n    web:\r\n        image:   ghcr.io/acme/web:1.0\r\n"
        "        command: [a,   b]"
    )
    spec = tmp_path / "unhazzle.yaml"
    spec.write_bytes(original.encode())
    data = write_json(tmp_path / "s.json", '{"NEW": "x y"}')
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(spec))
    assert result.code == 0, result.err
    assert spec.read_bytes().decode() == original + "\r\n        env:\r\n            NEW: x y\r\n"


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(max_size=12), st.one_of(st.text(max_size=12), st.none(), st.lists(st.integers())))
)
def test_parse_flat_json_any_keys_and_values_accepts_or_locates(data):
    raw = json.dumps(data, ensure_ascii=bool(len(data) % 2)).encode("utf-8", errors="surrogatepass")
    try:
        entries = parse_flat_json(raw, name="s.json")
    except InputError as exc:
        assert exc.problems and all(p.file == "s.json" and p.line >= 1 for p in exc.problems)
        return
    assert {e.key: e.value for e in entries} == data
    assert all(re.fullmatch(ENV_VAR_RE, key) and isinstance(value, str) for key, value in data.items())


def test_env_import_keeps_the_spec_file_permissions(cli, project, tmp_path):
    project.chmod(0o640)
    data = write_json(tmp_path / "s.json", '{"NEW": "x"}')
    assert cli("env", "import", str(data), "--app", "web", "--spec", str(project)).code == 0
    assert project.stat().st_mode & 0o777 == 0o640


def test_env_import_through_a_symlinked_spec_edits_its_target_and_keeps_the_link(cli, project, tmp_path):
    shared = tmp_path / "config"
    shared.mkdir()
    target = project.rename(shared / "unhazzle.yaml")
    link = tmp_path / "unhazzle.yaml"
    link.symlink_to("config/unhazzle.yaml")  # relative, as `ln -s` makes them
    data = write_json(tmp_path / "s.json", '{"NEW": "x"}')
    result = cli("env", "import", str(data), "--app", "web", "--spec", str(link))
    assert result.code == 0, result.err
    assert link.is_symlink() and link.readlink() == Path("config/unhazzle.yaml")
    assert changed_lines(COMMENTED, target.read_text(encoding="utf-8")) == ([], ["      NEW: x"])
    assert sorted(p.name for p in shared.iterdir()) == ["unhazzle.yaml"]  # no temporary left behind


SHARED = """\
version: 1
project: shop
region: fsn1
environments:
  production: {}
  staging: &st
    apps:
      web:
        env: {A: "1"}
  preview: *st
apps:
  web:
    image: ghcr.io/acme/web:1.0
    env: &common
      LOG_LEVEL: info   # for every app that says *common
  api:
    image: ghcr.io/acme/api:1.0
    env: *common
  worker:
    image: ghcr.io/acme/worker:1.0
    env:
      <<: *common
      OWN: "y"
  solo: &solo
    image: ghcr.io/acme/solo:1.0
    env: {LOG_LEVEL: warn}
  copy: *solo
"""


def _settings_of_each_place(text: str) -> dict[str, object]:
    data = load_bytes(text.encode(), name="unhazzle.yaml").data
    places = {f"apps.{name}": app.get("env") for name, app in data["apps"].items()}
    for env, body in data["environments"].items():
        places[f"environments.{env}"] = (body or {}).get("apps", {}).get("web", {}).get("env")
    return places


@pytest.mark.parametrize(
    ("app", "environment", "place"),
    [
        ("api", None, "apps.api"),  # env: *common
        ("worker", None, "apps.worker"),  # <<: *common
        ("copy", None, "apps.copy"),  # the whole app is *solo
        ("web", "preview", "environments.preview"),  # the whole environment is *st
    ],
)
def test_env_import_through_an_alias_changes_only_its_own_place(app, environment, place):
    entries = parse_flat_json(b'{"LOG_LEVEL": "debug", "NEW": "x"}', name="s.json")
    before = _settings_of_each_place(SHARED)
    edit = merge_settings(SHARED, entries, app=app, environment=environment)
    after = _settings_of_each_place(edit.text)
    assert after[place] == {**before[place], "LOG_LEVEL": "debug", "NEW": "x"}
    assert {k: v for k, v in after.items() if k != place} == {k: v for k, v in before.items() if k != place}
    for line in (
        "  solo: &solo",
        "    env: &common",
        "      LOG_LEVEL: info   # for every app that says *common",
    ):
        assert line in edit.text.splitlines()  # the anchors stay where they are, and their comments


def test_env_unset_of_a_setting_from_a_merge_removes_it_for_that_app_only(cli, tmp_path):
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(SHARED, encoding="utf-8")
    result = cli("env", "unset", "worker", "LOG_LEVEL", "--spec", str(spec))
    assert result.code == 0, result.err
    after = _settings_of_each_place(spec.read_text(encoding="utf-8"))
    assert after["apps.worker"] == {"OWN": "y"}
    assert after["apps.api"] == after["apps.web"] == {"LOG_LEVEL": "info"}


def test_env_unset_of_a_setting_that_overrides_a_merge_leaves_the_app_without_it(cli, tmp_path):
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(
        SHARED.replace('      OWN: "y"\n', '      OWN: "y"\n      LOG_LEVEL: debug\n'), encoding="utf-8"
    )
    assert _settings_of_each_place(spec.read_text(encoding="utf-8"))["apps.worker"]["LOG_LEVEL"] == "debug"
    result = cli("env", "unset", "worker", "LOG_LEVEL", "--spec", str(spec))
    assert result.code == 0, result.err
    after = _settings_of_each_place(spec.read_text(encoding="utf-8"))
    assert after["apps.worker"] == {"OWN": "y"}  # neither its own value nor the merged one
    assert after["apps.api"] == after["apps.web"] == {"LOG_LEVEL": "info"}


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        (["--app", "web"], "14:5", "apps.web.env is shared with apps.api.env, apps.worker.env (<<: *common)"),
        (["--app", "solo"], "24:3", "apps.solo is shared with apps.copy through the anchor &solo"),
        (
            ["--app", "web", "--env", "staging"],
            "6:3",
            "environments.staging is shared with environments.preview",
        ),
    ],
)
def test_env_import_into_an_anchor_other_places_use_is_a_located_error(cli, tmp_path, args, where, message):
    spec = tmp_path / "unhazzle.yaml"
    spec.write_text(SHARED, encoding="utf-8")
    data = write_json(tmp_path / "s.json", '{"NEW": "x"}')
    result = cli("env", "import", str(data), *args, "--spec", str(spec))
    assert result.code == 2
    assert result.err.startswith(f"{spec}:{where}: error: {message}")
    assert spec.read_text(encoding="utf-8") == SHARED


# -- set, unset and list: the same verbs as `secrets` ---------------------------------------------


def test_env_set_and_unset_change_only_their_lines(cli, project):
    before = project.read_text(encoding="utf-8")
    app = next(iter(load_bytes(before.encode(), name="s").data["apps"]))
    result = cli("env", "set", app, "NEW_FLAG=on", "--spec", str(project))
    assert result.code == 0, result.err
    assert "added" in result.out and "NEW_FLAG" in result.out
    removed, inserted = changed_lines(before, project.read_text(encoding="utf-8"))
    assert removed == [] and [line.strip() for line in inserted] == ["NEW_FLAG: on"]
    gone = cli("env", "unset", app, "NEW_FLAG", "NOT_THERE", "--spec", str(project))
    assert gone.code == 0 and "removed" in gone.out and "not set there  NOT_THERE" in gone.out
    assert project.read_text(encoding="utf-8") == before  # back to the byte


def test_env_set_refuses_what_is_not_a_setting(cli, project):
    app = next(iter(load_bytes(project.read_bytes(), name="s").data["apps"]))
    before = project.read_text(encoding="utf-8")
    for pair in ("NOEQUALS", "1BAD=x", "=x"):
        result = cli("env", "set", app, pair, "--spec", str(project))
        assert result.code == 2 and "is not NAME=VALUE" in result.err
    assert cli("env", "set", "nope", "A=b", "--spec", str(project)).code == 2
    # a byte that is not UTF-8, as the system hands it over (surrogateescape), is said as a byte
    result = cli("env", "set", app, "A=x\udcffy", "--spec", str(project))
    assert result.code == 2 and "the value of A is not UTF-8 text (byte 0xff)" in result.err
    assert project.read_text(encoding="utf-8") == before


def test_env_list_shows_each_value_and_where_it_comes_from(cli, project):
    result = cli("env", "list", "--output", "json", "--spec", str(project))
    assert result.code == 0, result.err
    rows = json.loads(result.out)["settings"]
    assert rows and all(set(r) == {"environment", "app", "name", "value", "from"} for r in rows)
    text = cli("env", "list", "--spec", str(project)).out
    assert all(" from " in line for line in text.splitlines())
