"""Whose is it: the namespaces and objects the reconciler may write, judged from what is live.

The guard (guard.py) judges a folder by its files alone; this judges it against the cluster, so
that a folder can never reach further than the namespace the reconciler derives for it:
- a namespace that exists is written only when it carries Unhazzle's labels for that very project
  and environment (it was created by the reconciler, or an administrator adopted it on purpose,
  with the command `adopt_command` prints); a namespace made by anyone else is refused, never
  labelled over (server-side apply would otherwise add our labels and take it);
- an object that exists and is neither ours nor in the environment's inventory was made by
  someone else: it is refused, never taken over, so it can never be pruned later.
Pure: live objects in, a reason to refuse ("" when there is none) out.
"""

from __future__ import annotations

from unhazzle.reconciler.objects import Obj, Ref, labels
from unhazzle.shared.names import ENVIRONMENT_LABEL, MANAGED_BY, OURS, PROJECT_LABEL, reserved


def owner_labels(project: str, environment: str) -> dict[str, str]:
    """The labels that make a namespace this environment's (the compiler renders them too)."""
    return {MANAGED_BY: OURS, PROJECT_LABEL: project, ENVIRONMENT_LABEL: environment}


def adopt_command(namespace: str, project: str, environment: str) -> str:
    """The documented, explicit step that hands an existing namespace to Unhazzle."""
    pairs = " ".join(f"{k}={v}" for k, v in owner_labels(project, environment).items())
    return f"kubectl label namespace {namespace} {pairs}"


def namespace_refusal(live: Obj | None, *, namespace: str, project: str, environment: str) -> str:
    """Why the environment `project/environment` may not write `namespace` as it is live."""
    if reserved(namespace):
        return f"Namespace/{namespace}: refused: it belongs to the cluster itself, not to a project"
    if live is None:
        return ""  # the reconciler creates it, with the labels the guard checked
    have = labels(live)
    if have.get(MANAGED_BY) != OURS:
        return (
            f"Namespace/{namespace}: refused: it exists and was not made by Unhazzle; nothing of "
            f"{project}/{environment} is applied there. To hand it over, an administrator runs: "
            f"{adopt_command(namespace, project, environment)}"
        )
    owner = (have.get(PROJECT_LABEL), have.get(ENVIRONMENT_LABEL))
    if owner != (project, environment):
        return (
            f"Namespace/{namespace}: refused: it belongs to environment "
            f"'{owner[0]}/{owner[1]}', not to '{project}/{environment}'"
        )
    return ""


def takeover_refusal(ref: Ref, live: Obj | None, recorded: frozenset[Ref]) -> str:
    """Why `ref` may not be applied over what is live: it exists, is not labelled as ours and was
    never applied by this environment (not in its inventory). Such an object was made by someone
    else; applying would take it over and a later prune would delete it."""
    if live is None or ref in recorded or labels(live).get(MANAGED_BY) == OURS:
        return ""
    return (
        f"{ref}: refused: it exists already and was not made by Unhazzle; it is left as it is. "
        "Delete or rename it, or give the app another name"
    )


def hosts(ingress: Obj) -> set[str]:
    """The addresses an Ingress asks the shared ingress controller to route to it."""
    spec = ingress.get("spec") or {}
    found = {
        str(rule.get("host"))
        for rule in spec.get("rules") or []
        if isinstance(rule, dict) and rule.get("host")
    }
    for tls in spec.get("tls") or []:
        if isinstance(tls, dict):
            found |= {str(host) for host in tls.get("hosts") or []}
    return found


def served(ingresses: list[Obj]) -> dict[str, set[str]]:
    """Address -> the namespaces whose Ingresses route it: built once per pass, so checking an
    environment's N Ingresses against the cluster's M is N + M work, not N x M (at 1,000 apps in
    two environments that product was four million comparisons, most of a no-change pass)."""
    index: dict[str, set[str]] = {}
    for ingress in ingresses:
        namespace = str((ingress.get("metadata") or {}).get("namespace"))
        for host in hosts(ingress):
            index.setdefault(host, set()).add(namespace)
    return index


def host_refusal(ingress: Obj, serving: dict[str, set[str]]) -> str:
    """Why `ingress` may not be applied: an Ingress of another namespace already serves one of its
    addresses (`serving`: what `served` made of the cluster's Ingresses). The ingress controller
    is shared by every environment (and by every environment repo on the cluster): first come,
    first served, or one repo could take another's traffic."""
    namespace = str((ingress.get("metadata") or {}).get("namespace"))
    taken = sorted(
        (where, host) for host in hosts(ingress) for where in serving.get(host, ()) if where != namespace
    )
    if not taken:
        return ""
    where, host = taken[0]
    return (
        f"{Ref.of(ingress)}: refused: the address {host} is already served by another "
        f"environment (namespace '{where}'); an address belongs to one app. Choose another "
        "domain, or remove it there first"
    )
