"""The real node's network-policy enforcer: NetworkPolicies in, nftables rules out (no machine)."""

from __future__ import annotations

from typing import Any

from unhazzle.devcluster import policies
from unhazzle.devcluster.policies import Cluster, matches, ruleset

SUBNET = "10.244.0.0/24"


def pod(ns: str, name: str, ip: str, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": ns, "name": name, "labels": labels},
        "spec": {"containers": [{"ports": [{"name": "app", "containerPort": 8080}]}]},
        "status": {"podIP": ip},
    }


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}}


def policy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name}, "spec": spec}


DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}
SAME = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}
PODS = [pod("a", "web", "10.244.0.2", app="web"), pod("a", "api", "10.244.0.3", app="api"),
        pod("b", "evil", "10.244.0.4", app="evil")]  # fmt: skip
SPACES = [namespace("a"), namespace("b")]


def test_selectors_match_labels_and_expressions() -> None:
    assert matches({}, {}) and matches(None, {"x": "1"})
    assert matches({"matchLabels": {"app": "web"}}, {"app": "web", "x": "1"})
    assert not matches({"matchLabels": {"app": "web"}}, {"app": "api"})
    expr = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}
    assert matches(expr, {"tier": "back"}) and not matches(expr, {"tier": "db"}) and not matches(expr, {})
    assert matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, {"y": "1"})
    assert not matches({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["1"]}]}, {"x": "1"})


def test_no_policy_isolates_nothing_but_unseen_instances() -> None:
    rules = ruleset(Cluster(PODS, SPACES, []), SUBNET)
    assert "jump" not in rules
    assert "ip saddr 10.244.0.0/24 ip saddr != { 10.244.0.2, 10.244.0.3, 10.244.0.4 } drop" in rules


def test_default_deny_and_same_environment_let_only_the_environment_in() -> None:
    rules = ruleset(Cluster(PODS, SPACES, [policy("a", "deny", DENY), policy("a", "same", SAME)]), SUBNET)
    chain = rules.split("chain ingress-10-244-0-2 {", 1)[1].split("\n  }", 1)[0]
    assert [line.strip() for line in chain.strip().splitlines()] == [
        "ip saddr { 10.244.0.2, 10.244.0.3 } return",
        "drop",
    ]
    assert "ip daddr 10.244.0.2 jump ingress-10-244-0-2" in rules
    assert "ingress-10-244-0-4" not in rules  # b has no policy: open


def test_namespace_selector_ports_by_name_and_ip_blocks() -> None:
    spec = {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}],
                     "ports": [{"port": "app"}, {"port": 9000, "endPort": 9010, "protocol": "UDP"}]}],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}],
    }  # fmt: skip
    rules = ruleset(Cluster(PODS, SPACES, [policy("a", "p", spec)]), SUBNET)
    assert "ip saddr { 10.244.0.4 } meta l4proto tcp th dport { 8080 } return" in rules
    assert "ip saddr { 10.244.0.4 } meta l4proto udp th dport 9000-9010 return" in rules
    assert "ip daddr 0.0.0.0/0 ip daddr != { 169.254.169.254/32 } return" in rules
    assert "ip saddr 10.244.0.2 jump egress-10-244-0-2" in rules


def test_the_table_is_replaced_in_one_transaction() -> None:
    lines = ruleset(Cluster([], [], []), SUBNET).splitlines()
    assert lines[:3] == [f"table inet {policies.TABLE} {{}}", f"delete table inet {policies.TABLE}",
                         f"table inet {policies.TABLE} {{"]  # fmt: skip
