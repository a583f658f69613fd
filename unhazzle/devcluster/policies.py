"""The real node's network-policy enforcer: Kubernetes NetworkPolicies as nftables rules.

kube-network-policies, the enforcer the issue names, judges packets in user space through
nfqueue, and this machine kind's kernel has no nftables `queue` expression (`nft add rule ...
queue num 100` answers "No such file or directory"), so it cannot run here. This is a small
enforcer of ours instead: every second it reads pods, namespaces and policies from the API server
and, when the result changed, replaces one table (`inet unhazzle-policies`) in one nft
transaction. Rules sit on the forward hook, which instance-to-instance traffic crosses (the bridge
hands it to netfilter); the machine's own traffic (health checks, DNS on the bridge address) is
not forwarded and stays allowed, as on a real node.

Semantics, as the NetworkPolicy API defines them: an instance selected by a policy with Ingress
(Egress) among its types is isolated in that direction and only what some selecting policy's rules
allow gets through; replies of allowed connections always pass. Peers: podSelector (the policy's
namespace), namespaceSelector, both, ipBlock with except; ports by number, range or name (an
ingress name resolves on the receiving instance, an egress name on every instance that names a
port so). Until the enforcer has seen an instance's address, traffic to and from it is dropped
(fail closed, as kube-network-policies does by default).
"""

from __future__ import annotations

import argparse
import ipaddress
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

Obj = Mapping[str, Any]
TABLE = "unhazzle-policies"
LISTS = ("/api/v1/pods", "/api/v1/namespaces", "/apis/networking.k8s.io/v1/networkpolicies")


def matches(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """A label selector: matchLabels and matchExpressions; {} matches everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
        present = key in labels
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def _labels(obj: Obj) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def _ip(pod: Obj) -> str:
    return str(pod.get("status", {}).get("podIP") or "")


def _types(policy: Obj) -> set[str]:
    spec = policy.get("spec", {})
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress", *(["Egress"] if spec.get("egress") else [])}


class Cluster:
    """What the rules are computed from: instances with an address, namespaces, policies."""

    def __init__(self, pods: Sequence[Obj], namespaces: Sequence[Obj], policies: Sequence[Obj]) -> None:
        self.pods = [p for p in pods if _ip(p) and not p.get("spec", {}).get("hostNetwork")]
        self.namespaces = {n["metadata"]["name"]: _labels(n) for n in namespaces}
        self.policies = policies

    def selected_by(self, policy: Obj) -> list[Obj]:
        ns = policy["metadata"]["namespace"]
        selector = policy.get("spec", {}).get("podSelector")
        return [p for p in self.pods if p["metadata"]["namespace"] == ns and matches(selector, _labels(p))]

    def peers(self, peer: Obj, namespace: str) -> list[str]:
        """Source or destination addresses of one peer, as nft set elements."""
        if "ipBlock" in peer:
            return []  # handled as a CIDR match of its own
        pod_selector, ns_selector = peer.get("podSelector"), peer.get("namespaceSelector")
        if ns_selector is not None:
            spaces = {n for n, labels in self.namespaces.items() if matches(ns_selector, labels)}
        else:
            spaces = {namespace}
        return sorted(
            _ip(p)
            for p in self.pods
            if p["metadata"]["namespace"] in spaces and matches(pod_selector, _labels(p))
        )

    def named_port(self, name: str, pods: Iterable[Obj]) -> list[int]:
        return sorted(
            {
                int(port["containerPort"])
                for pod in pods
                for container in pod.get("spec", {}).get("containers") or []
                for port in container.get("ports") or []
                if port.get("name") == name
            }
        )


def _port_matches(ports: Sequence[Obj], resolve: Any) -> list[str]:
    """nft matches for a rule's ports ([""] = any port)."""
    if not ports:
        return [""]
    out = []
    for port in ports:
        proto = str(port.get("protocol", "TCP")).lower()
        value = port.get("port")
        if value is None:
            out.append(f"meta l4proto {proto}")
        elif isinstance(value, str) and not value.isdigit():
            numbers = resolve(value)
            if numbers:
                out.append(f"meta l4proto {proto} th dport {{ {', '.join(map(str, numbers))} }}")
        elif port.get("endPort"):
            out.append(f"meta l4proto {proto} th dport {int(value)}-{int(port['endPort'])}")
        else:
            out.append(f"meta l4proto {proto} th dport {int(value)}")
    return out


def _peer_matches(peers: Sequence[Obj] | None, cluster: Cluster, namespace: str, field: str) -> list[str]:
    """nft matches for a rule's peers ([""] = anyone); `field` is saddr or daddr."""
    if not peers:
        return [""]
    out = []
    for peer in peers:
        block = peer.get("ipBlock")
        if block:
            if ipaddress.ip_network(block["cidr"], strict=False).version != 4:
                continue
            match = f"ip {field} {block['cidr']}"
            excepts = [c for c in block.get("except") or [] if ":" not in c]
            if excepts:
                match += f" ip {field} != {{ {', '.join(excepts)} }}"
            out.append(match)
        elif addresses := cluster.peers(peer, namespace):
            out.append(f"ip {field} {{ {', '.join(addresses)} }}")
    return out


def ruleset(cluster: Cluster, subnet: str) -> str:
    """The whole table, for `nft -f`: deleted and made again in one transaction."""
    chains: dict[str, list[str]] = {}
    dispatch: list[str] = []
    for direction, key, own, peer_field in (
        ("Ingress", "ingress", "daddr", "saddr"),
        ("Egress", "egress", "saddr", "daddr"),
    ):
        allowed: dict[str, list[str]] = {}  # pod address -> allow rules
        for policy in cluster.policies:
            if direction not in _types(policy):
                continue
            ns = policy["metadata"]["namespace"]
            for pod in cluster.selected_by(policy):
                rules = allowed.setdefault(_ip(pod), [])
                for rule in policy.get("spec", {}).get(key) or []:
                    peers = rule.get("from" if key == "ingress" else "to")
                    target = [pod] if key == "ingress" else cluster.pods
                    ports = _port_matches(
                        rule.get("ports") or [], lambda n, t=target: cluster.named_port(n, t)
                    )
                    for peer in _peer_matches(peers, cluster, ns, peer_field):
                        # `return`, not accept: the other direction's chain must pass it too.
                        rules += [" ".join(filter(None, (peer, port, "return"))) for port in ports]
        for address, rules in sorted(allowed.items()):
            chain = f"{key}-{address.replace('.', '-')}"
            chains[chain] = [*rules, "drop"]
            dispatch.append(f"ip {own} {address} jump {chain}")
    known = sorted({_ip(p) for p in cluster.pods})
    lines = [
        f"table inet {TABLE} {{}}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        "    ct state established,related accept",
    ]
    for field in ("saddr", "daddr"):  # fail closed: an instance not seen yet is not let through
        but = f" ip {field} != {{ {', '.join(known)} }}" if known else ""
        lines.append(f"    ip {field} {subnet}{but} drop")
    lines += [f"    {rule}" for rule in dispatch]
    lines.append("  }")
    for chain, rules in chains.items():
        lines += [f"  chain {chain} {{", *(f"    {r}" for r in rules), "  }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def remove() -> None:
    subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True, check=False)


def main(argv: list[str] | None = None) -> int:
    """Enforce until stopped: `python -m unhazzle.devcluster.policies --state-dir DIR`."""
    from unhazzle.devcluster import cluster as devcluster
    from unhazzle.devcluster import node

    parser = argparse.ArgumentParser(prog="unhazzle-policies", description=__doc__)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    state = devcluster.ClusterState.load(args.state_dir)
    if state is None:
        print(f"no cluster state in {args.state_dir}", file=sys.stderr)
        return 1
    applied = ""
    while True:
        try:
            lists = [devcluster.api_request(state, "GET", path) for path in LISTS]
        except OSError as err:  # the API server restarting: keep the rules we have
            print(f"reading the cluster failed: {err}", file=sys.stderr, flush=True)
            time.sleep(args.interval)
            continue
        if all(status == 200 for status, _ in lists):
            pods, namespaces, policies = (body.get("items", []) for _, body in lists)
            wanted = ruleset(Cluster(pods, namespaces, policies), node.SUBNET)
            if wanted != applied:
                done = subprocess.run(
                    ["nft", "-f", "-"], input=wanted, capture_output=True, text=True, check=False
                )
                if done.returncode == 0:
                    applied = wanted
                    print(f"rules for {len(policies)} policies, {len(pods)} instances", flush=True)
                else:
                    print(
                        f"nft refused the rules: {done.stderr.strip()}\n{wanted}", file=sys.stderr, flush=True
                    )
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
