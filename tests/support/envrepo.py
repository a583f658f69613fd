"""Build environment repos the way `unhazzle publish` lays them out (BRIEF: ENV_REPO/<project>/
<environment>/{_environment.yaml, <app>.yaml, _index.json}), commit with GitPython and push to a
bare remote. A stand-in for publish until its branch lands; the layout is the shared contract."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import git
import yaml

from unhazzle.compiler.pipeline import compile_text
from unhazzle.compiler.planning.plan import EnvPlan
from unhazzle.compiler.rendering.render import render_plan

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop" / "unhazzle.yaml"


def render_layout(spec_text: str, *, environments: list[str] | None = None) -> dict[str, str]:
    """Relative path -> text, for every environment: the rendered files plus `_index.json`."""
    compiled = compile_text(spec_text)
    plan = compiled.plan
    files = render_plan(plan, environments=environments)
    out: dict[str, str] = {f"{plan.project}/{path}": text for path, text in files.items()}
    for env in plan.environments:
        if environments is not None and env.name not in environments:
            continue
        out[f"{plan.project}/{env.name}/_index.json"] = _index(plan.project, env, files, spec_text)
    return dict(sorted(out.items()))


def beyond_any_machine(text: str, app: str) -> str:
    """Manifests *text* with *app*'s instances asking for 60 vCPU, more than any simulated
    machine has (56), and the environment's quota raised to allow it: a cluster with no room for
    the app. The spec cannot ask for that itself (an instance larger than one server fails
    validation), so the manifests are edited, as a full cluster would have it."""
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    if not docs:
        return text
    for doc in docs:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == app:
            resources = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
            resources["requests"]["cpu"] = resources["limits"]["cpu"] = "60"
        if doc["kind"] == "ResourceQuota":
            doc["spec"]["hard"].update({"requests.cpu": "1000", "limits.cpu": "1000"})
    return yaml.safe_dump_all(docs, sort_keys=False)


def _index(project: str, env: EnvPlan, files: dict[str, str], spec_text: str) -> str:
    name = env.name
    objects = []
    for path, text in files.items():
        folder, _, file = path.partition("/")
        if folder != name:
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                meta = doc["metadata"]
                ns = meta.get("namespace", "")
                objects.append(
                    {
                        "apiVersion": doc["apiVersion"],
                        "kind": doc["kind"],
                        "namespace": ns,
                        "name": meta["name"],
                        "file": file,
                    }
                )
    apps = {
        a.name: {
            "image": a.app.image,
            "instances": {"min": a.sizing.min_instances, "max": a.sizing.max_instances},
        }
        for a in env.apps
    }
    index = {
        "format": 1, "project": project, "environment": name, "namespace": env.namespace,
        "badge": env.badge, "source": {"repo": "test", "commit": "0" * 40, "message": "test",
        "spec_sha256": hashlib.sha256(spec_text.encode()).hexdigest()}, "compiler": {"version": "test"},
        "objects": sorted(objects, key=lambda o: json.dumps(o, sort_keys=True)), "apps": apps,
    }  # fmt: skip
    return json.dumps(index, sort_keys=True, indent=2) + "\n"


class EnvRepo:
    """A bare remote plus a working clone; `publish(files)` replaces the whole tree and pushes."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.remote = root / "remote.git"
        self.branch = branch
        git.Repo.init(self.remote, bare=True, initial_branch=branch)
        self.work = git.Repo.init(root / "work", initial_branch=branch)
        with self.work.config_writer() as cfg:
            cfg.set_value("user", "name", "test").set_value("user", "email", "test@example.com")
        self.work.create_remote("origin", str(self.remote))

    @property
    def url(self) -> str:
        return str(self.remote)

    def publish(
        self,
        files: dict[str, str],
        message: str = "publish",
        *,
        env: dict[str, str] | None = None,
        links: dict[str, str] | None = None,
    ) -> str:
        """`env`: extra Git environment for the commit (tests/signing.py signs with it);
        `links`: symbolic links to commit too (relative path -> target)."""
        top = Path(self.work.working_dir)
        for child in top.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        for rel, text in files.items():
            path = top / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        for rel, target in (links or {}).items():
            (top / rel).parent.mkdir(parents=True, exist_ok=True)
            (top / rel).symlink_to(target)
        self.work.git.add("-A")
        self.work.git.commit("--allow-empty", "-m", message, env=env)
        self.work.git.push("origin", f"HEAD:refs/heads/{self.branch}", "--force")
        return self.work.head.commit.hexsha


def shop_files(
    *, environments: list[str] | None = None, edit: tuple[str, str] | None = None
) -> dict[str, str]:
    text = SHOP.read_text(encoding="utf-8")
    if edit:
        assert edit[0] in text, edit[0]
        text = text.replace(*edit)
    return render_layout(text, environments=environments)


def spec(project: str, *, drop_app: str | None = None, edit: tuple[str, str] | None = None) -> str:
    # Each project its own address too: an address belongs to one environment on the cluster.
    text = (
        SHOP.read_text(encoding="utf-8")
        .replace("project: shop", f"project: {project}")
        .replace("shop.example.com", f"{project}.example.com")
    )
    if drop_app:  # an app's block runs from its name to the next app (or the databases section)
        text = re.sub(rf"\n  {drop_app}:\n(    .*\n|\n)*", "\n", text, count=1)
    if edit:
        assert edit[0] in text
        text = text.replace(*edit)
    return text


def files(project: str, *, envs: tuple[str, ...] = ("production",), **kw: Any) -> dict[str, str]:
    return render_layout(spec(project, **kw), environments=list(envs))
