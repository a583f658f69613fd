"""Kubeconfig files and credential plugin scripts for the tests of cluster/kubeconfig.py,
credentials.py and transport.py: real files in a temp folder, real programs."""

from __future__ import annotations

import base64
import json
import sys
import textwrap
from pathlib import Path
from typing import Any


def config(
    *, current: str = "", clusters: dict[str, Any], users: dict[str, Any] | None = None,
    contexts: dict[str, tuple[str, str]],
) -> dict[str, Any]:  # fmt: skip
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
        "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, (c, u) in contexts.items()],
    }  # fmt: skip


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def one(tmp_path: Path, *, cluster: dict[str, Any] | None = None, user: dict[str, Any] | None = None) -> Path:
    """tmp_path/config: one cluster, one user, one context (the current one)."""
    return write(tmp_path / "config", config(
        current="c", clusters={"k": cluster or {"server": "https://k.example:6443/"}},
        users={"u": user or {}}, contexts={"c": ("k", "u")},
    ))  # fmt: skip


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class PluginScript:
    """A real plugin: counts its runs, records what it was given, answers token-<run>."""

    def __init__(self, folder: Path, *, fail: bool = False, ttl_s: int = 60) -> None:
        self.folder = folder
        self.path = folder / "bin" / "login"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(textwrap.dedent(f"""\
            #!{sys.executable}
            import json, os, sys, time
            runs = os.path.join({str(folder)!r}, "runs")
            with open(runs, "a") as out:
                out.write(json.dumps({{"args": sys.argv[1:], "env": os.environ.get("PLUGIN_MODE"),
                                      "info": json.loads(os.environ["KUBERNETES_EXEC_INFO"])}}) + "\\n")
            if {fail!r}:
                print("warming up", file=sys.stderr)
                print("your sign-in expired; run login again", file=sys.stderr)
                sys.exit(3)
            n = len(open(runs).readlines())
            until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + {ttl_s}))
            print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                              "status": {{"token": f"token-{{n}}", "expirationTimestamp": until}}}}))
        """))  # fmt: skip
        self.path.chmod(0o755)

    def runs(self) -> list[dict[str, Any]]:
        file = self.folder / "runs"
        return [json.loads(line) for line in file.read_text().splitlines()] if file.exists() else []

    def kubeconfig(self, *, cluster_info: bool = True) -> Path:
        exec_ = {"apiVersion": "client.authentication.k8s.io/v1", "command": "./bin/login", "args": ["--fast"],
                 "env": [{"name": "PLUGIN_MODE", "value": "ci"}], "provideClusterInfo": cluster_info,
                 "interactiveMode": "Never"}  # fmt: skip
        cluster = {"server": "https://k:6443", "certificate-authority-data": b64("CA"),
                   "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "k"}}]}  # fmt: skip
        return one(self.folder, cluster=cluster, user={"exec": exec_})
