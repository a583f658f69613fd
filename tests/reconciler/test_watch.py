"""Following objects by WATCH (cluster/watch.py), against a scripted API server of our own: one
LIST, then watches from its resourceVersion; a cut or ended stream is watched again from the last
resourceVersion seen without listing; 410 Gone lists again. Only what health reads is kept."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from unhazzle.reconciler.cluster.client import connect
from unhazzle.reconciler.cluster.watch import Reflector
from unhazzle.reconciler.objects import Obj
from unhazzle.reconciler.sync import health

DISCOVERY = {"resources": [{"name": "deployments", "kind": "Deployment", "namespaced": True}]}


def deployment(name: str, version: int, *, available: int = 0) -> Obj:
    return {
        "metadata": {"name": name, "resourceVersion": str(version), "generation": 1,
                     "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": name, "image": "x"}]}}},
        "status": {"observedGeneration": 1, "availableReplicas": available, "updatedReplicas": available,
                   "replicas": 1},
    }  # fmt: skip


# What the server does on each WATCH, in order: ("event", type, object), ("end",) as the server
# does after timeoutSeconds, ("cut",) a connection cut without an end, ("hold",) until the test
# ends, or ("status", code) an HTTP answer instead of a stream.
Step = tuple[Any, ...]


class FakeServer:
    def __init__(self, listed: list[Obj], list_version: int) -> None:
        self.listed, self.list_version = listed, list_version
        self.watches: queue.Queue[list[Step]] = queue.Queue()
        self.asked: list[dict[str, str]] = []  # the query of every LIST and WATCH, in order
        self.done = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def kubeconfig(self, path: Path) -> Path:
        url = f"http://127.0.0.1:{self._server.server_address[1]}"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": url}}], "users": [{"name": "u", "user": {}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u"}}],
        }))  # fmt: skip
        return path

    def lists(self) -> int:
        return sum("watch" not in q for q in self.asked)

    def watched_from(self) -> list[str]:
        return [q["resourceVersion"] for q in self.asked if "watch" in q]

    def close(self) -> None:
        self.done.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/apis/apps/v1":
                    return self._json(200, DISCOVERY)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fake.asked.append(query)
                if "watch" not in query:
                    meta = {"resourceVersion": str(fake.list_version)}
                    return self._json(200, {"kind": "DeploymentList", "metadata": meta, "items": fake.listed})
                return self._watch(fake.watches.get(timeout=10))

            def _watch(self, steps: list[Step]) -> None:
                if steps[0][0] == "status":
                    return self._json(steps[0][1], {"kind": "Status", "code": steps[0][1], "message": "gone"})
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for step in steps:
                    if step[0] == "event":
                        line = json.dumps({"type": step[1], "object": step[2]}).encode() + b"\n"
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                        self.wfile.flush()
                    elif step[0] == "end":
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    elif step[0] == "cut":
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    elif step[0] == "hold":
                        fake.done.wait()
                        self.close_connection = True
                        return

            def _json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[..., tuple[FakeServer, Reflector]]]:
    made: list[tuple[FakeServer, Reflector]] = []

    def start(listed: list[Obj], list_version: int, *watches: list[Step]) -> tuple[FakeServer, Reflector]:
        server = FakeServer(listed, list_version)
        for steps in watches:
            server.watches.put(steps)
        client = connect(str(server.kubeconfig(tmp_path / "kubeconfig")))
        reflector = Reflector(client, "apps/v1", "Deployment", namespace="shop", keep=health.essentials)
        reflector.start()
        made.append((server, reflector))
        return server, reflector

    yield start
    for server, reflector in made:
        reflector.stop()
        server.close()
        reflector.join(5)


def _until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def _available(reflector: Reflector) -> dict[str, int]:
    return {o["metadata"]["name"]: o["status"].get("availableReplicas", 0) for o in reflector.items()}


def test_watch_resumes_after_the_stream_is_cut_without_listing_again(started: Any) -> None:
    server, reflector = started(
        [deployment("api", 10)], 10,
        [("event", "MODIFIED", deployment("api", 11, available=1)), ("cut",)],
        [("event", "ADDED", deployment("web", 12)), ("hold",)],
    )  # fmt: skip
    _until(lambda: _available(reflector) == {"api": 1, "web": 0})
    assert server.lists() == 1
    assert server.watched_from() == ["10", "11"]  # again from the last resourceVersion seen


def test_watch_ended_by_the_server_after_its_timeout_is_watched_again_from_the_last_bookmark(
    started: Any,
) -> None:
    server, reflector = started(
        [deployment("api", 10)], 10,
        [("event", "BOOKMARK", {"metadata": {"resourceVersion": "15"}}), ("end",)],
        [("event", "MODIFIED", deployment("api", 16, available=1)), ("hold",)],
    )  # fmt: skip
    _until(lambda: _available(reflector) == {"api": 1})
    assert server.lists() == 1
    assert server.watched_from() == ["10", "15"]
    assert server.asked[-1]["allowWatchBookmarks"] == "true" and int(server.asked[-1]["timeoutSeconds"]) > 0


@pytest.mark.parametrize("gone", [("event", "ERROR", {"kind": "Status", "code": 410}), ("status", 410)])
def test_watch_gone_lists_again_then_watches_from_the_new_list(started: Any, gone: Step) -> None:
    server, reflector = started([deployment("api", 10), deployment("old", 10)], 10, [gone])
    server.listed, server.list_version = [deployment("api", 30, available=1)], 30  # "old" went meanwhile
    server.watches.put([("event", "MODIFIED", deployment("api", 31, available=1)), ("hold",)])
    _until(lambda: server.watched_from() == ["10", "30"])
    assert server.lists() == 2
    _until(lambda: _available(reflector) == {"api": 1})


def test_watch_wakes_whoever_waits_and_keeps_only_what_health_reads(tmp_path: Path) -> None:
    server = FakeServer([deployment("api", 10)], 10)
    server.watches.put([("event", "MODIFIED", deployment("api", 11, available=1)), ("hold",)])
    woke = threading.Semaphore(0)  # one release per change: none is lost to a race with the test
    client = connect(str(server.kubeconfig(tmp_path / "kubeconfig")))
    reflector = Reflector(
        client, "apps/v1", "Deployment", namespace="shop", keep=health.essentials, changed=woke.release
    )
    try:
        reflector.start()
        assert woke.acquire(timeout=10)  # the LIST is a change too
        assert woke.acquire(timeout=10)  # the watched MODIFIED
        _until(lambda: _available(reflector) == {"api": 1})
        kept = reflector.items()[0]
        assert "managedFields" not in kept["metadata"] and "template" not in kept["spec"]
        assert client.requests["LIST"] == 1 and client.requests["WATCH"] == 1
    finally:
        reflector.stop()
        server.close()
        reflector.join(5)
    assert not reflector._thread or not reflector._thread.is_alive()


def test_a_stopped_watch_ends_at_once_though_nothing_changes(started: Any) -> None:
    server, reflector = started([deployment("api", 10)], 10, [("hold",)])
    _until(lambda: server.watched_from() == ["10"])
    stopped = time.monotonic()
    reflector.stop()
    reflector.join(5)
    assert reflector._thread is not None and not reflector._thread.is_alive()
    assert time.monotonic() - stopped < 2


# -- what a watch keeps -------------------------------------------------------------------------

LIVE = [
    {"kind": "Deployment", "metadata": {"name": "api", "generation": 3, "annotations": {
        "unhazzle.io/automatic-rollback": "false", "other": "x"}, "labels": {"a": "b"}},
     "spec": {"replicas": 2, "template": {}},
     "status": {"observedGeneration": 3, "availableReplicas": 2, "updatedReplicas": 1, "replicas": 3,
                "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                                "message": "long words"}]}},
    {"kind": "Deployment", "metadata": {"name": "web", "generation": 1},
     "spec": {"replicas": 1},
     "status": {"conditions": [{"type": "Progressing", "status": "False",
                                "reason": "ProgressDeadlineExceeded"}]}},
    {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "api"},
     "spec": {"minReplicas": 2, "scaleTargetRef": {"kind": "Deployment", "name": "api"}},
     "status": {"conditions": [{"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"}]}},
    {"kind": "Job", "metadata": {"name": "api-release-1", "labels": {"unhazzle.io/release-of": "api"}},
     "spec": {}, "status": {"conditions": [{"type": "Failed", "status": "True"}]}},
    {"kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": {}, "status": {"phase": "Pending"}},
]  # fmt: skip


def test_health_says_the_same_of_what_a_watch_keeps_as_of_whole_objects() -> None:
    whole = health.assess(LIVE)
    assert whole.waiting and whole.failed and whole.stalled == ["web"]
    assert health.assess([health.essentials(o) for o in LIVE]) == whole
    ready = {**LIVE[0], "status": {**LIVE[0]["status"], "updatedReplicas": 2, "replicas": 2}}
    assert health.assess([health.essentials(ready), health.essentials(LIVE[2])]).healthy
