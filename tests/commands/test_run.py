"""`unhazzle run`: the instance a one-off run gets, and the command line that starts it (the run
itself, on real containers: tests/cluster/test_jobs_cluster.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, Result
from unhazzle.compiler.pipeline import compile_file
from unhazzle.compiler.rendering.render import render_plan
from unhazzle.operate.oneoff import instance_for

RunCli = Callable[..., Result]


def deployment(app: str) -> dict:
    plan = compile_file(EXAMPLES / "shop" / "unhazzle.yaml").plan
    text = render_plan(plan, environments=["production"])[f"production/{app}.yaml"]
    return next(d for d in YAML(typ="safe", pure=True).load_all(text) if d["kind"] == "Deployment")


def test_a_run_is_the_apps_own_instance_with_the_command_in_place_of_its_process() -> None:
    app = deployment("web")
    pod = instance_for(app, ["sh", "-c", "echo $HOME $(date)"], name="web-run-abc123", timeout_s=60)
    template = app["spec"]["template"]["spec"]
    container = pod["spec"]["containers"][0]
    assert container["image"] == template["containers"][0]["image"]
    assert container["env"] == template["containers"][0]["env"]  # settings and secret references
    assert container["securityContext"] == template["containers"][0]["securityContext"]
    assert pod["spec"]["securityContext"] == template["securityContext"]
    assert container["command"] == ["sh", "-c", "echo $$HOME $$(date)"]  # reaches the process as written
    assert not {"args", "ports", "startupProbe", "readinessProbe", "livenessProbe"} & set(container)
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["activeDeadlineSeconds"] == 60
    labels = pod["metadata"]["labels"]
    assert "unhazzle.io/app" not in labels and "unhazzle.io/public" not in labels  # not in its traffic
    assert labels["unhazzle.io/run-of"] == "web" and labels["unhazzle.io/environment"] == "production"


def test_run_needs_a_command_after_the_double_dash(cli: RunCli, tmp_path: Path) -> None:
    spec = str(EXAMPLES / "shop" / "unhazzle.yaml")
    result = cli("run", "web", "--env", "production", "--spec", spec)
    assert result.code == 2 and "give the command after --" in result.err
    result = cli("run", "web", "--env", "production", "--spec", spec, "--timeout", "0", "--", "true")
    assert result.code == 2 and "--timeout: error: 0 is out of range" in result.err
    result = cli("run", "nope", "--env", "production", "--spec", spec, "--", "true")
    assert result.code == 2 and "no app named 'nope'" in result.err


def test_what_follows_the_double_dash_is_the_commands_own(cli: RunCli, monkeypatch) -> None:
    seen = {}

    def fake_run(args):  # stands in for the cluster: only the parsed command line is looked at
        seen["command"], seen["debug"] = args.passthrough, args.debug
        return 0

    import unhazzle.commands.run as run_command

    monkeypatch.setattr(run_command, "run", fake_run)
    spec = str(EXAMPLES / "shop" / "unhazzle.yaml")
    result = cli(
        "run", "web", "--env", "production", "--spec", spec, "--", "./manage.py", "--debug", "--help"
    )
    assert result.code == 0, result.err
    assert seen == {"command": ["./manage.py", "--debug", "--help"], "debug": False}
