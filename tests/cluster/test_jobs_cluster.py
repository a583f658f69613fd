"""Release steps, scheduled jobs and one-off runs, on the real machine: the test app's `task` mode
prints its settings, sleeps, prints its words and exits with the code it is given."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.cluster.realnode import KEY, Images, Project, RunCli, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]
NS = "rel-production"


def spec(images: Images, *, version: str, release: str, jobs: str = "") -> str:
    return f"""\
version: 1
project: rel
region: fsn1
secrets: {{recipients: [age144sd36nzp875tu0323z8dxn92zd3vm4u2thh5cmu54m0kv2m83kqwvak3j]}}  # KEY's
environments:
  production: {{}}
apps:
  api:
    image: {images.ref("testapp:1")}
    port: 8080
    env: {{VERSION: "{version}"}}
    secrets: [TOKEN]
    release: {{command: {release}, timeout: 2m}}
    instances: {{min: 1, max: 1}}
    size: {{cpu: 0.1, memory: 64MB}}
{jobs}"""


def kubectl_json(project: Project, *args: str) -> Any:
    return json.loads(project.cluster.kubectl(*args, "-n", NS, "-o", "json").stdout)


def release_jobs(project: Project) -> list[dict[str, Any]]:
    return list(kubectl_json(project, "get", "jobs", "-l", "unhazzle.io/release-of=api")["items"])


def running_version(project: Project) -> str:
    deployment = kubectl_json(project, "get", "deployment", "api")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return str(next(e["value"] for e in env if e["name"] == "VERSION"))


def with_token(project: Project) -> None:
    done = project.unhazzle("secrets", "set", "--env", "production", "api", "TOKEN", input="t0ken")
    assert done.returncode == 0, done.stderr


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP endpoint on loopback that keeps every JSON body posted to it."""
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", received
    finally:
        server.shutdown()


def reconcile_once(project: Project, *extra: str, timeout: int = 60) -> Any:
    return project.unhazzle(
        "reconcile", "--once", "--repo", str(project.repo), "--kubeconfig", str(project.cluster.kubeconfig),
        "--no-leader-election", "--timeout", str(timeout), "--cache-dir", str(project.folder / "reconciler"),
        "--secrets-key-file", str(KEY), *extra, timeout=timeout + 120,
    )  # fmt: skip


def test_a_release_step_runs_before_the_new_version_and_a_failed_one_keeps_the_old_serving(
    project: Callable[[str], Project], images: Images, cli: RunCli
) -> None:
    migrate = '["/app", "task", "0", "4", "migrated"]'
    rel = project(spec(images, version="1", release=migrate))
    with_token(rel)
    done = rel.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rel/production: healthy" in done.stdout, done.stdout

    # The step ran once, with the app's image, settings and secrets, and finished before the
    # new version's instances were made.
    [step] = release_jobs(rel)
    assert step["status"]["succeeded"] == 1
    pod = kubectl_json(rel, "get", "pods", "-l", f"job-name={step['metadata']['name']}")["items"][0]
    printed = rel.cluster.kubectl("logs", "-n", NS, pod["metadata"]["name"]).stdout
    first = json.loads(printed.splitlines()[0])
    assert first["env"]["VERSION"] == "1" and first["env"]["TOKEN"] == "t0ken"
    assert "task: done migrated" in printed
    sets = kubectl_json(rel, "get", "replicasets", "-l", "unhazzle.io/app=api")["items"]
    assert all(rs["metadata"]["creationTimestamp"] >= step["status"]["completionTime"] for rs in sets)

    # Version 2's step fails: version 1 keeps serving, and the reconciler says why, with the
    # step's last lines.
    rel.spec.write_text(
        spec(images, version="2", release='["/app", "task", "7", "0", "no", "such", "table"]')
    )
    done = rel.publish_and_reconcile(timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "app api: its release step failed (exit code 7)" in output, output
    assert "task: done no such table" in output, output
    assert "unhazzle retry-release api --env production" in output, output
    assert running_version(rel) == "1"
    ready = kubectl_json(rel, "get", "deployment", "api")["status"].get("readyReplicas")
    assert ready == 1
    status = rel.observe(cli, "status")
    assert "the new version's release step failed (exit code 7)" in status.out, status.out
    assert "it last printed: task: done no such table" in status.out, status.out

    # Not run again by itself, pass after pass...
    failed = [j for j in release_jobs(rel) if j["status"].get("failed")]
    assert len(failed) == 1
    again = reconcile_once(rel, timeout=20)
    assert again.returncode == 1
    assert [j["status"].get("failed") for j in release_jobs(rel) if j["status"].get("failed")] == [1]
    # ... until asked: the retry runs it once more (it fails the same way).
    retried = rel.observe(cli, "retry-release", "api", "--env", "production")
    assert retried.code == 0, retried.err
    assert "runs it again on its next pass" in retried.out

    # A commit that fixes it rolls version 3 out after its step.
    rel.spec.write_text(spec(images, version="3", release=migrate))
    done = rel.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    assert running_version(rel) == "3"
    assert sorted(j["status"].get("succeeded", 0) for j in release_jobs(rel)) == [1]


JOB = """\
jobs:
  tick:
    image: {image}
    command: ["/app", "task", "0", "75", "{word}"]
    schedule: "* * * * *"
    timezone: Europe/Berlin
    timeout: 5m
    size: {{cpu: 0.1, memory: 32MB}}
    env: {{API: "${{apps.api.url}}"}}
"""


def test_a_scheduled_job_runs_on_schedule_never_overlaps_and_a_deploy_does_not_stop_its_run(
    project: Callable[[str], Project], images: Images, cli: RunCli
) -> None:
    steady = '["/app", "task", "0", "0"]'
    job = JOB.format(image=images.ref("testapp:1"), word="first")
    ticks = project(spec(images, version="1", release=steady, jobs=job))
    with_token(ticks)
    done = ticks.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr

    def runs() -> list[dict[str, Any]]:
        return list(kubectl_json(ticks, "get", "jobs", "-l", "unhazzle.io/job=tick")["items"])

    def active(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [j for j in items if j["status"].get("active")]

    first = wait_for(lambda: active(runs()) or None, timeout=90)[0]
    # A deploy while it runs: the job's settings change; the run in progress goes on.
    ticks.spec.write_text(spec(images, version="1", release=steady,
                               jobs=JOB.format(image=images.ref("testapp:1"), word="second")))  # fmt: skip
    done = ticks.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    # Runs of 75 s every minute: the next minute is skipped while one runs, never two at once.
    seen_at_once = 0
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        items = runs()
        seen_at_once = max(seen_at_once, len(active(items)))
        finished = [j for j in items if j["metadata"]["name"] == first["metadata"]["name"]]
        if finished and finished[0]["status"].get("succeeded"):
            break
        time.sleep(2)
    assert seen_at_once == 1
    [ended] = [j for j in runs() if j["metadata"]["name"] == first["metadata"]["name"]]
    assert ended["status"].get("succeeded") == 1, ended["status"]  # not stopped by the deploy

    status = ticks.observe(cli, "status")
    assert "tick" in status.out and "runs * * * * * (Europe/Berlin)" in status.out, status.out
    assert "last run" in status.out and "succeeded" in status.out, status.out
    data = json.loads(ticks.observe(cli, "status", "--output", "json").out)
    [tick] = data["environments"][0]["jobs"]
    assert tick["last_run"]["result"] == "succeeded" and tick["next_run_at"]

    # Each run's output, and what happened to the runs, in words.
    logs = ticks.observe(cli, "logs", "tick", "--env", "production")
    assert logs.code == 0, logs.err
    assert "task: done first" in logs.out, logs.out  # the run the deploy did not stop
    assert '"API":"http://api.rel-production.svc.cluster.local:8080"' in logs.out
    events = ticks.observe(cli, "events", "tick", "--env", "production")
    assert "production/tick: run started" in events.out and "production/tick: run finished" in events.out, (
        events.out
    )


def test_a_one_off_run_streams_its_output_and_returns_its_exit_code(
    project: Callable[[str], Project], images: Images
) -> None:
    rel = project(spec(images, version="1", release='["/app", "task", "0", "0"]'))
    with_token(rel)
    done = rel.publish_and_reconcile()
    assert done.returncode == 0, done.stdout + done.stderr
    kube = ["--kubeconfig", str(rel.cluster.kubeconfig)]

    refused = rel.unhazzle("run", "api", "--env", "production", *kube, "--", "/app", "task", "0", "0")
    assert refused.returncode == 2 and "pass --yes" in refused.stderr, refused.stderr

    ran = rel.unhazzle("run", "api", "--env", "production", "--yes", *kube, "--",
                       "/app", "task", "5", "1", "fixed", "$(HOME)")  # fmt: skip
    assert ran.returncode == 5, ran.stdout + ran.stderr
    first = json.loads(ran.stdout.splitlines()[0])
    assert first["env"]["VERSION"] == "1" and first["env"]["TOKEN"] == "t0ken"
    assert first["args"] == ["fixed", "$(HOME)"]  # as written
    assert "task: done fixed $(HOME)" in ran.stdout
    # Removed afterwards; never counted as one of the app's instances.
    left = kubectl_json(rel, "get", "pods", "-l", "unhazzle.io/run-of=api")["items"]
    assert [p for p in left if not p["metadata"].get("deletionTimestamp")] == []
