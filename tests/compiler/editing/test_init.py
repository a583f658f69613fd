"""`unhazzle init`: the questionnaire, driven as a user would (through a pseudo-terminal) and
through flags, against a real registry on loopback; the written file validates and matches a
golden file (regenerate with `pytest --update-golden`)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.support.textdiff import changed_lines
from unhazzle.commands.init import port_problem
from unhazzle.prompt import _pick

GOLDEN = ROOT / "tests" / "golden" / "init"


def assert_golden(request, name: str, text: str, registry_host: str) -> None:
    text = text.replace(registry_host, "REGISTRY")
    path = GOLDEN / name
    if request.config.getoption("--update-golden"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


MENU = {"TERM": "xterm"}  # choices as an arrow-key menu (the default on a real terminal)
PLAIN = {"TERM": "xterm", "UNHAZZLE_PROMPT": "plain"}  # choices as a numbered list answered by a line


def choose(n: str = r"\d", default: str = r"\d") -> str:
    """The prompt under a choice, in either mode."""
    return rf"[^\n]*Choose 1-{n} \[{default}\][^:\n]*: "


def spawn(cwd: Path, *args: str, docker_config: Path, mode: dict[str, str] = MENU) -> pexpect.spawn:
    env = {**os.environ, **mode, "DOCKER_CONFIG": str(docker_config), "PYTHONUNBUFFERED": "1"}
    return pexpect.spawn(
        sys.executable, ["-m", "unhazzle", "init", *args], cwd=str(cwd), env=env, encoding="utf-8", timeout=20
    )


def defaults(child: pexpect.spawn, count: int) -> None:
    """Take the default of the next *count* choices by pressing Enter."""
    for _ in range(count):
        child.expect(choose())
        child.sendline("")


def extras(child: pexpect.spawn, count: int) -> None:
    """Leave the questions after the sizing ones empty: domains (public apps), the health path
    (apps with a port) and secrets; then no database."""
    for _ in range(count):
        child.expect(r"(Your domains|Health check path|Secrets it needs).*: ")
        child.sendline("")
        if child.match.group(1) == "Secrets it needs":
            child.expect("Does it use a database that runs elsewhere")
            child.expect(choose())
            child.sendline("")


def finish(child: pexpect.spawn, answer: str = "y") -> int:
    """Answer the write question; the exit status once the program ends."""
    child.expect(r"Write unhazzle.yaml\? \[Y/n\]: ")
    child.sendline(answer)
    return ended(child)


def ended(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    folder = tmp_path / "shop"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def flags(image: str) -> list[str]:
    return [
        "--project", "shop", "--region", "nbg1", "--app", "web", "--image", image, "--public",
        "--traffic", "medium", "--latency", "sensitive", "--pattern", "daily-peaks",
    ]  # fmt: skip


def test_init_flags_write_golden_spec(cli, request, plain_registry, docker_config, workdir):
    result = cli("init", *flags(plain_registry.ref("acme/web:1.0")))
    assert result.code == 0, result.err
    assert "web will run:\n  production  2-9 instances, 0.25 vCPU (up to 0.5) and 256 MB each" in result.out
    assert result.out.endswith("wrote unhazzle.yaml; next: `unhazzle plan unhazzle.yaml`\n")
    text = (workdir / "unhazzle.yaml").read_text()
    assert text.startswith(
        "# yaml-language-server: $schema=https://unhazzle.dev/schemas/unhazzle.schema.json\n"
    )
    assert cli("validate").code == 0
    assert_golden(request, "new.yaml", text, plain_registry.host)


@pytest.mark.parametrize("mode", [MENU, PLAIN], ids=["menu", "plain"])
def test_init_terminal_questionnaire_matches_golden(request, plain_registry, docker_config, workdir, mode):
    child = spawn(workdir, docker_config=docker_config, mode=mode)
    child.expect(r"Project name .*\[shop\]: ")
    child.sendline("")
    child.expect(r"1\) fsn1 .*\(default\)")
    child.expect(choose("3", "1"))
    child.sendline("2")
    child.expect(r"Environments, separated by commas \[production, staging\]: ")
    child.sendline("")
    child.expect(r"Image of the app .*: ")
    child.sendline(plain_registry.ref("acme/web:1.0"))
    child.expect(r"exposes 8080/tcp; runs as user 1000:1000")
    child.expect(r"App name \[web\]: ")
    child.sendline("")
    child.expect(r"Port: 8080 \(the only port the image exposes\)")
    child.expect(r"Public: reachable from the internet over HTTPS\? \[y/N\]: ")
    child.sendline("y")
    for number, (question, answer) in enumerate(
        [("How much traffic", "medium"), ("How much do users notice", "3"), ("What kind of work", ""),
         ("How long does it take to start", ""), ("How does its traffic vary", "2")], 1
    ):  # fmt: skip
        child.expect(rf"\({number}/5\) {question}.*\n  \S.*\n(.*\d\) .*\n)+" + choose())
        child.sendline(answer)
    extras(child, 3)
    child.expect(r"production  2-9 instances")
    assert finish(child, "") == 0
    assert_golden(request, "new.yaml", (workdir / "unhazzle.yaml").read_text(), plain_registry.host)


def test_init_terminal_rejects_bad_answers_and_asks_again(plain_registry, docker_config, workdir):
    child = spawn(
        workdir, "--no-inspect", "--project", "shop", "--region", "fsn1", docker_config=docker_config
    )
    child.expect(r"Environments.*: ")
    child.sendline("production, Bad_Env")
    child.expect(r"'Bad_Env': use lowercase letters")
    child.sendline("production")
    child.expect(r"Image of the app .*: ")
    child.sendline("NOT AN IMAGE")
    child.expect(r"not a")
    child.expect(r"Image of the app .*: ")
    child.sendline("ghcr.io/acme/worker:2")
    child.expect(r"App name \[worker\]: ")
    child.sendline("")
    child.expect(r"Port the app listens on .*: ")
    child.sendline("99999")
    child.expect("a port is a number from 1 to 65535")
    child.sendline("")  # no port: a worker
    child.expect(r"\(1/5\)")
    child.expect(choose("4", "1"))
    child.sendline("9")
    child.expect("type a number from 1 to 4, or a name")
    child.sendline("low")
    defaults(child, 4)
    extras(child, 1)
    child.expect(r"worker will run:\r?\n  production  1-3 instances")
    child.expect(r"Write unhazzle.yaml\? \[Y/n\]: ")
    child.sendline("n")
    child.expect("Nothing written.")
    assert ended(child) == 0
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_ctrl_c_leaves_no_file(plain_registry, docker_config, workdir):
    child = spawn(workdir, "--no-inspect", docker_config=docker_config)
    child.expect(r"Project name .*: ")
    child.sendline("shop")
    child.expect(choose("3", "1"))
    child.sendintr()
    child.expect(r"stopped; unhazzle.yaml was not written")
    assert ended(child) == 130
    assert list(workdir.iterdir()) == []


def test_init_ctrl_c_while_adding_keeps_the_spec(plain_registry, docker_config, workdir):
    spec = workdir / "unhazzle.yaml"
    shutil.copy(EXAMPLES / "shop" / "unhazzle.yaml", spec)
    before = spec.read_bytes()
    child = spawn(
        workdir,
        "--app",
        "mailer",
        "--image",
        "ghcr.io/acme/mailer:1",
        "--no-inspect",
        docker_config=docker_config,
    )
    child.expect(r"Port the app listens on .*: ")
    child.sendcontrol("d")  # end of input stops like Ctrl-C
    assert ended(child) == 130
    assert spec.read_bytes() == before
    assert [p.name for p in workdir.iterdir()] == ["unhazzle.yaml"]


def test_init_terminal_two_ports_offers_a_choice(plain_registry, docker_config, workdir):
    child = spawn(
        workdir, "--project", "shop", "--region", "fsn1", "--env", "production", docker_config=docker_config
    )
    child.expect(r"Image of the app .*: ")
    child.sendline(plain_registry.ref("acme/ports:1.0"))
    child.expect(r"App name \[ports\]: ")
    child.sendline("api")
    child.expect(r"Which port does the app serve on\?.*1\) 8080 .*2\) 9090 .*" + choose("2", "1"))
    child.sendline("2")
    child.expect(r"Public.*: ")
    child.sendline("")
    defaults(child, 5)
    extras(child, 2)
    assert finish(child, "y") == 0
    text = (workdir / "unhazzle.yaml").read_text()
    assert "    port: 9090\n" in text and "public: false" in text


def test_init_two_ports_without_terminal_needs_port(cli, plain_registry, docker_config, workdir):
    result = cli("init", "--project", "shop", "--app", "api", "--image", plain_registry.ref("acme/ports:1.0"))
    assert result.code == 2
    assert result.err == (
        "--port: error: the image exposes 8080, 9090; say which one the app serves on with --port\n"
    )
    assert not (workdir / "unhazzle.yaml").exists()
    result = cli(
        "init",
        "--project",
        "shop",
        "--app",
        "api",
        "--image",
        plain_registry.ref("acme/ports:1.0"),
        "--port",
        "9090",
    )
    assert result.code == 0, result.err


def test_init_root_image_warns_and_says_so_in_the_file(cli, plain_registry, docker_config, workdir):
    result = cli("init", "--project", "shop", "--app", "web", "--image", plain_registry.ref("acme/root:1.0"))
    assert result.code == 0, result.err
    assert result.err.startswith(
        "unhazzle init: warning: the image runs as root; Unhazzle runs every app as an unprivileged user"
    )
    text = (workdir / "unhazzle.yaml").read_text()
    assert "# Note: the image runs as root; Unhazzle runs every app as an unprivileged user" in text
    assert "port: 8000" in text


def test_init_adds_app_keeping_comments(cli, request, plain_registry, docker_config, workdir):
    spec = workdir / "unhazzle.yaml"
    original = (EXAMPLES / "shop" / "unhazzle.yaml").read_text()
    spec.write_text(original)
    shutil.copytree(EXAMPLES / "shop" / "unhazzle.secrets", workdir / "unhazzle.secrets")
    result = cli(
        "init",
        "--app",
        "mailer",
        "--image",
        plain_registry.ref("acme/ports:1.0"),
        "--port",
        "8080",
        "--workload",
        "worker",
    )
    assert result.code == 0, result.err
    text = spec.read_text()
    # every line stays as it was; added: the app at the end of apps, and in staging (not
    # production) its smaller start, as `init` gives a new project's first app
    removed, added = changed_lines(original, text)
    assert removed == []
    assert added[:2] == ["      mailer:", "        instances: {min: 1, max: 2}"], added
    assert text.endswith("\ndatabases:" + original.split("\ndatabases:")[1])
    assert cli("validate", str(spec)).code == 0
    assert_golden(request, "shop-added.yaml", text, plain_registry.host)


def web_line() -> int:
    return (EXAMPLES / "shop" / "unhazzle.yaml").read_text().splitlines().index("  web:") + 1


def test_init_add_existing_app_name_is_bad_input(cli, docker_config, workdir):
    shutil.copy(EXAMPLES / "shop" / "unhazzle.yaml", workdir / "unhazzle.yaml")
    result = cli("init", "--app", "web", "--image", "ghcr.io/acme/web:2", "--no-inspect")
    assert result.code == 2
    web_line = (EXAMPLES / "shop" / "unhazzle.yaml").read_text().splitlines().index("  web:") + 1
    assert (
        result.err
        == f"unhazzle.yaml:{web_line}:3: error: already has an app named 'web'; pick another name\n"
    )


def test_init_add_to_broken_spec_reports_its_errors(cli, docker_config, workdir):
    (workdir / "unhazzle.yaml").write_text("version: 1\nproject: shop\nregion: mars\n")
    result = cli("init", "--app", "api", "--image", "ghcr.io/acme/api:2", "--no-inspect")
    assert result.code == 2
    assert "unhazzle.yaml:3:9: error: region: 'mars' is not allowed" in result.err
    assert (workdir / "unhazzle.yaml").read_text() == "version: 1\nproject: shop\nregion: mars\n"


def test_init_add_to_folder_is_bad_input(cli, docker_config, workdir):
    (workdir / "unhazzle.yaml").mkdir()
    result = cli("init", "--app", "api", "--image", "ghcr.io/acme/api:2", "--no-inspect")
    assert result.code == 2 and "is a folder" in result.err


def test_init_refuses_to_overwrite_without_force(cli, docker_config, workdir):
    spec = workdir / "unhazzle.yaml"
    spec.write_text("# mine\n")
    result = cli("init", "--project", "shop", "--app", "web", "--image", "ghcr.io/a/web:1", "--no-inspect")
    assert result.code == 2
    assert result.err.startswith("unhazzle.yaml:1:1: error: already exists;")
    assert spec.read_text() == "# mine\n"
    result = cli(
        "init", "--project", "shop", "--app", "web", "--image", "ghcr.io/a/web:1", "--no-inspect", "--force"
    )
    assert result.code == 0, result.err
    assert "project: shop" in spec.read_text()


def test_init_without_terminal_names_missing_flags(cli, workdir):
    result = cli("init", "--region", "hel1")
    assert result.code == 2
    assert result.err == (
        "unhazzle init: error: stdin is not a terminal, so the answers come from flags; "
        "missing: --project NAME, --app NAME, --image IMAGE\n"
    )


def test_init_bad_flags_reported_together(cli, workdir):
    result = cli(
        "init",
        "--project",
        "Shop",
        "--env",
        "prod_1",
        "--app",
        "web",
        "--image",
        "ghcr.io/a/b:1",
        "--port",
        "70000",
    )
    assert result.code == 2
    rule = "use lowercase letters, digits and '-', starting with a letter, at most"
    assert result.err.splitlines() == [
        f"--project: error: 'Shop': {rule} 30 characters",
        f"--env: error: 'prod_1': {rule} 20 characters",
        "--port: error: '70000': a port is a number from 1 to 65535",
    ]


def test_init_every_bad_flag_reported_at_once(cli, workdir):
    rule = "use lowercase letters, digits and '-', starting with a letter, at most"
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "Bad_", "--app", "B A D", "--image", "X Y",
        "--port", "0", "--env", "E E", "--secret", "s s",
    )  # fmt: skip
    assert result.code == 2
    assert result.err.splitlines() == [
        f"--project: error: 'Bad_': {rule} 30 characters",
        f"--env: error: 'E E': {rule} 20 characters",
        f"--app: error: 'B A D': {rule} 30 characters",
        "--image: error: 'X Y': 'X Y' is not a repository name (lowercase letters, digits, '.', '_', '-', '/')",
        "--port: error: '0': a port is a number from 1 to 65535",
        "--secret: error: 's s' is not a secret name (letters, digits and _)",
    ]
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "shop", "--app", "web", "--image", "x:1", "--port", "0",
        "--secret", "s s", "--health-path", "nos", "--domain", "B D", "--ca-file", "missing.pem",
    )  # fmt: skip
    assert result.err.splitlines() == [
        "--port: error: '0': a port is a number from 1 to 65535",
        "--domain: error: 'B D' is not a domain name like shop.example.com",
        "--health-path: error: 'nos' is not a path like /healthz",
        "--secret: error: 's s' is not a secret name (letters, digits and _)",
        "--ca-file: error: missing.pem: cannot read it: No such file or directory",
    ]
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_choices_and_port_are_checked_with_the_other_flags(cli, workdir):
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "shop", "--region", "xx", "--app", "web", "--image", "x:1",
        "--port", "http", "--traffic", "hihg", "--database", "mysql", "--database-secret", "db-url",
    )  # fmt: skip
    assert result.code == 2
    assert result.err.splitlines() == [
        "--region: error: 'xx' is not allowed; choose fsn1 | nbg1 | hel1",
        "--port: error: 'http': a port is a number from 1 to 65535",
        "--database: error: 'mysql' is none of aiven, supabase, external",
        "--database-secret: error: 'db-url' is not a secret name (letters, digits and _)",
        "--traffic: error: 'hihg' is not allowed; choose low | medium | high | very-high (did you mean 'high'?)",
    ]


def test_init_a_spec_path_no_file_can_be_written_at_is_said_with_the_flags(cli, workdir):
    (workdir / "folder").mkdir()
    (workdir / "afile").write_text("x")
    flags = [
        "init",
        "--yes",
        "--no-inspect",
        "--project",
        "shop",
        "--app",
        "web",
        "--image",
        "x:1",
        "--port",
        "0",
    ]
    result = cli(*flags, "--spec", "folder")
    assert result.code == 2
    assert result.err.splitlines() == [
        "folder:1:1: error: cannot write a spec there: it is a folder; name the file (--spec folder/unhazzle.yaml)",
        "--port: error: '0': a port is a number from 1 to 65535",
    ]
    result = cli(*flags[:-1], "80", "--spec", "afile/unhazzle.yaml")
    assert result.code == 2 and "web will run" not in result.out  # said before any summary
    assert result.err.splitlines() == [
        "afile/unhazzle.yaml:1:1: error: cannot write a spec there: afile is a file, not a folder"
    ]


def test_init_an_unknown_flag_hides_none_of_the_values_init_checks_itself(cli, workdir):
    result = cli("init", "--yes", "--no-inspect", "--port", "0", "--bogus", "--ca-file", "/nonexistent")
    assert result.code == 2
    assert [line for line in result.err.splitlines() if "error:" in line] == [
        "unhazzle init: error: unrecognized arguments: --bogus",
        "--port: error: '0': a port is a number from 1 to 65535",
        "--ca-file: error: /nonexistent: cannot read it: No such file or directory",
    ]
    assert not (workdir / "unhazzle.yaml").exists()


@pytest.mark.parametrize("port", ["0" * 5000 + "80", "٨٠", "65536", "+80"])
def test_init_port_is_ascii_digits_from_1_to_65535_however_long_what_is_given(cli, workdir, port):
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "shop", "--app", "web", "--image", "x:1", "--port", port
    )
    assert result.code == 2
    assert result.err.startswith("--port: error: '") and result.err.rstrip().endswith(
        "a port is a number from 1 to 65535"
    )
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_add_reports_the_spec_and_the_flags_together(cli, docker_config, workdir):
    (workdir / "unhazzle.yaml").write_text("version: 1\nproject: shop\nregion: mars\n")
    result = cli("init", "--app", "api", "--image", "ghcr.io/acme/api:2", "--no-inspect", "--port", "0")
    assert result.code == 2
    lines = result.err.splitlines()
    assert "unhazzle.yaml:3:9: error: region: 'mars' is not allowed; choose fsn1 | nbg1 | hel1" in lines
    assert lines[-1] == "--port: error: '0': a port is a number from 1 to 65535"
    shutil.copy(EXAMPLES / "shop" / "unhazzle.yaml", workdir / "unhazzle.yaml")
    result = cli("init", "--yes", "--no-inspect", "--app", "jobs", "--image", "x:1", "--database", "mian",
                 "--secret", "a-b")  # fmt: skip
    assert result.err.splitlines() == [
        "--secret: error: 'a-b' is not a secret name (letters, digits and _)",
        "--database: error: 'mian' is none of aiven, supabase, external, main",
    ]
    # an app the spec has already is one of them too (not said only once the rest is fixed)
    result = cli("init", "--yes", "--no-inspect", "--app", "web", "--image", "x:1", "--port", "0")
    assert result.err.splitlines() == [
        "--port: error: '0': a port is a number from 1 to 65535",
        f"unhazzle.yaml:{web_line()}:3: error: already has an app named 'web'; pick another name",
    ]
    # a job's name is taken as well
    with (workdir / "unhazzle.yaml").open("a") as spec:
        spec.write("jobs:\n  report: {image: 'x:1', schedule: '@daily'}\n")
    result = cli("init", "--yes", "--no-inspect", "--app", "report", "--image", "x:1")
    last = len((workdir / "unhazzle.yaml").read_text().splitlines())  # where `report:` is
    assert result.err.splitlines() == [
        f"unhazzle.yaml:{last}:3: error: already has a job named 'report'; pick another name"
    ]


def test_init_registry_error_without_terminal_is_one_line(cli, plain_registry, docker_config, workdir):
    ref = plain_registry.ref("acme/web:nope")
    result = cli("init", "--project", "shop", "--app", "web", "--image", ref)
    assert result.code == 1
    assert result.err == (
        f"{ref}: no such tag 'nope' in {plain_registry.host}/acme/web (it has: 1.0) "
        "(skip reading the image with --no-inspect)\n"
    )
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_terminal_carries_on_when_the_image_cannot_be_read(plain_registry, docker_config, workdir):
    ref = plain_registry.ref("acme/web:nope")
    child = spawn(
        workdir, "--project", "shop", "--region", "fsn1", "--env", "production", docker_config=docker_config
    )
    child.expect(r"Image of the app .*: ")
    child.sendline(ref)
    child.expect(r"could not read it: .*no such tag 'nope'.*\r?\n  carrying on without it.")
    child.expect(r"App name \[web\]: ")
    child.sendline("")
    child.expect(r"Port the app listens on .*: ")
    child.sendline("8080")
    child.expect(r"Public.*: ")
    child.sendline("n")
    defaults(child, 5)
    extras(child, 2)
    assert finish(child, "yes") == 0
    assert f"image: {ref}\n" in (workdir / "unhazzle.yaml").read_text()


def test_init_help_lists_every_answer_flag(cli):
    result = cli("init", "--help")
    assert result.code == 0
    flags = "project region env app image port public domain health-path secret traffic latency workload startup pattern"
    flags += " yes force no-inspect"
    for flag in flags.split():
        assert f"--{flag}" in result.out


def test_init_menu_arrow_keys_move_the_choice(docker_config, workdir):
    child = spawn(
        workdir, "--no-inspect", "--project", "shop", "--env", "production", docker_config=docker_config
    )
    child.expect(r"> 1\) fsn1 .*" + choose("3", "1"))
    child.send("\x1b[A")  # up from the first wraps to the last
    child.expect(r"> 3\) hel1")
    child.send("\x1b[B\x1b[B")  # down twice: fsn1, then nbg1
    child.expect(r"> 2\) nbg1")
    child.send("\r")
    child.expect(r"Image of the app .*: ")
    child.sendline("ghcr.io/acme/jobs:1")
    child.expect(r"App name \[jobs\]: ")
    child.sendline("")
    child.expect(r"Port the app listens on .*: ")
    child.sendline("")
    child.expect(r"\(1/5\)")
    child.send("j\r")  # j moves down like the arrow: medium
    defaults(child, 4)
    extras(child, 1)
    assert finish(child, "y") == 0
    text = (workdir / "unhazzle.yaml").read_text()
    assert "region: nbg1" in text and "traffic: medium " in text and "workload: worker " in text


def test_init_public_without_port_is_bad_input(cli, workdir):
    result = cli(
        "init",
        "--project",
        "shop",
        "--app",
        "jobs",
        "--image",
        "ghcr.io/a/jobs:1",
        "--no-inspect",
        "--public",
    )
    assert result.code == 2
    assert result.err == "--public: error: a public app needs a port to serve on; give --port too\n"
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_health_path_without_port_is_bad_input(cli, workdir):
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "shop", "--app", "web", "--image", "x:1",
        "--health-path", "/healthz", "--public",
    )  # fmt: skip
    assert result.code == 2
    assert result.err.splitlines() == [
        "--public: error: a public app needs a port to serve on; give --port too",
        "--health-path: error: a health check needs the app's port; give --port too",
    ]
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_domain_without_public_is_a_flag_error(cli, workdir):
    base = [
        "init",
        "--yes",
        "--no-inspect",
        "--project",
        "shop",
        "--app",
        "web",
        "--image",
        "ghcr.io/a/web:1",
    ]
    result = cli(*base, "--port", "80", "--no-public", "--domain", "a.example.com")
    assert result.code == 2
    assert result.err == "--domain: error: domains are for a public app; give --public too\n"
    result = cli(*base, "--domain", "a.example.com")
    assert result.err == "--domain: error: domains are for a public app; give --port and --public too\n"
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_problems_of_the_unwritten_spec_are_said_as_flags(cli, workdir):
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "kube", "--env", "system", "--app", "unhazzle-status",
        "--image", "ghcr.io/a/web:1",
    )  # fmt: skip
    assert result.code == 2
    assert result.err.splitlines() == [
        "--env: error: environments.system: 'kube' and 'system' together make 'kube-system', a name the "
        "cluster keeps for itself; rename the project or the environment",
        "--app: error: apps.unhazzle-status: the name 'unhazzle-status' is kept for Unhazzle's own use in "
        "every environment; rename the app",
    ]
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_add_says_what_the_added_app_breaks_without_a_position(cli, workdir):
    shutil.copy(EXAMPLES / "shop" / "unhazzle.yaml", workdir / "unhazzle.yaml")
    add = ["init", "--yes", "--no-inspect", "--app", "shop2", "--image", "x:1", "--port", "80", "--public"]
    result = cli(*add, "--domain", "shop.example.com")
    assert result.code == 2
    assert result.err == (
        "--domain: error: apps.shop2 (in production).domains: 'shop.example.com' is already the address "
        "of app 'web' in production; give each app its own domain\n"
    )
    small = "version: 1\nproject: shop\nregion: fsn1\nbudget: {max_monthly_eur: 2}\nenvironments:\n  production:\n"
    small += "apps:\n  web:\n    image: ghcr.io/a/web:1\n    instances: {min: 1, max: 1}\n"
    (workdir / "unhazzle.yaml").write_text(small)
    result = cli(*add, "--traffic", "very-high")
    assert result.code == 2
    assert result.err.startswith(
        "unhazzle init: error: budget.max_monthly_eur: at maximum scale the project would cost"
    )
    assert (workdir / "unhazzle.yaml").read_text() == small


def test_init_unicode_digits_are_not_ports(cli, workdir):
    result = cli("init", "--project", "shop", "--app", "web", "--image", "ghcr.io/a/web:1", "--no-inspect")
    assert result.code == 0
    assert port_problem("²") == "a port is a number from 1 to 65535"  # str.isdigit() says yes; int() no
    assert _pick("²", ["a", "b"]) is None


def test_init_lists_the_folders_the_image_writes_to_as_writable(cli, plain_registry, docker_config, workdir):
    result = cli(
        "init", "--project", "shop", "--app", "web", "--image", plain_registry.ref("acme/writes:1.0")
    )
    assert result.code == 0, result.err
    text = (workdir / "unhazzle.yaml").read_text()
    assert "writable: [/var/cache/nginx, /var/lib/app]" in text
    assert "It works in /app: if it writes there (logs, caches), list a folder inside it" in text
    assert cli("validate", str(workdir / "unhazzle.yaml")).code == 0


def test_init_asks_for_domains_health_and_secrets_and_writes_them(cli, docker_config, workdir):
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "shop", "--app", "web", "--image", "ghcr.io/acme/web:1.0",
        "--port", "8080", "--public", "--domain", "shop.example.com", "--health-path", "/healthz",
        "--secret", "API_KEY", "--secret", "API_KEY",
    )  # fmt: skip
    assert result.code == 0, result.err
    text = (workdir / "unhazzle.yaml").read_text()
    for line in ("domains: [shop.example.com]", "health: {path: /healthz}", "secrets: [API_KEY]"):
        assert line in text
    assert cli("plan", str(workdir / "unhazzle.yaml")).code == 0


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [("--domain", "not a domain", "is not a domain name"), ("--health-path", "healthz", "is not a path"),
     ("--secret", "api-key", "is not a secret name")],
)  # fmt: skip
def test_init_refuses_a_bad_domain_health_path_or_secret(cli, docker_config, workdir, flag, value, said):
    result = cli(
        "init", "--yes", "--no-inspect", "--project", "shop", "--app", "web", "--image", "ghcr.io/acme/web:1.0",
        "--port", "8080", "--public", flag, value,
    )  # fmt: skip
    assert result.code == 2 and said in result.err
    assert not (workdir / "unhazzle.yaml").exists()


def test_init_adds_a_database_once_and_apps_added_later_can_share_it(cli, docker_config, workdir):
    spec = str(workdir / "unhazzle.yaml")
    first = cli(
        "init", "--yes", "--no-inspect", "--project", "shop", "--app", "api", "--image", "ghcr.io/acme/api:1.0",
        "--port", "8080", "--database", "supabase",
    )  # fmt: skip
    assert first.code == 0, first.err
    assert "next: `unhazzle secrets keygen` (a key for the secrets)" in first.out
    added = cli(
        "init",
        "--yes",
        "--no-inspect",
        "--app",
        "worker",
        "--image",
        "ghcr.io/acme/w:1",
        "--database",
        "main",
    )
    assert added.code == 0, added.err
    text = (workdir / "unhazzle.yaml").read_text()
    assert text.count("databases: [main]") == 2
    assert text.endswith(
        "databases:\n  main: {provider: supabase, region: eu-central-1, secret: DATABASE_URL}\n"
    )
    assert "# External databases." in text.split("  worker:", 1)[1]  # its heading stays above it
    assert cli("validate", spec).code == 0
    own = cli("init", "--yes", "--no-inspect", "--app", "jobs", "--image", "ghcr.io/acme/j:1", "--database", "aiven",
              "--database-region", "aws-eu-west-1", "--database-secret", "JOBS_DB")  # fmt: skip
    assert own.code == 0, own.err
    assert (
        "jobs-db: {provider: aiven, region: aws-eu-west-1, secret: JOBS_DB}"
        in (workdir / "unhazzle.yaml").read_text()
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--database", "mysql"], "'mysql' is none of aiven, supabase, external"),
        (
            ["--database-region", "eu-1"],
            "--database-region: error: only describes a new database: give --database aiven, supabase or external",
        ),
        (
            ["--database", "aiven", "--database-region", "EU West"],
            "--database-region: error: 'EU West' is not a region",
        ),
    ],
)
def test_init_database_flags_are_checked(cli, docker_config, workdir, flags, message):
    result = cli(
        "init",
        "--yes",
        "--no-inspect",
        "--project",
        "shop",
        "--app",
        "api",
        "--image",
        "ghcr.io/acme/a:1",
        *flags,
    )
    assert result.code == 2 and message in result.err
    assert not (workdir / "unhazzle.yaml").exists()
