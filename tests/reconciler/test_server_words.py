"""A revision the API server refuses is reported in words without the server's plumbing (the
reconciler puts the file and line of the object before them: test_reconcile_cluster.py)."""

from __future__ import annotations

from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.sync.server_words import in_words, reason

DEPLOYMENT = Ref("apps/v1", "Deployment", "shop-production", "api")


def test_an_amount_the_server_cannot_read_is_said_plainly() -> None:
    said = (
        "failed to convert new object (shop-production/api; apps/v1, Kind=Deployment) to proper "
        "version: unable to convert unstructured object to apps/v1, Kind=Deployment: quantities must "
        "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (HTTP 500)"
    )
    line = in_words(DEPLOYMENT, said, desired={}, live=None)
    assert line.startswith("Deployment/api: refused by the cluster: a CPU")
    assert "unstructured" not in line and "HTTP" not in line and "regular expression" not in line


def test_an_invalid_field_keeps_the_servers_reason_without_its_preamble() -> None:
    said = 'Service "web" is invalid: spec.ports[0].port: Invalid value: 99999: must be between 1 and 65535 (HTTP 422)'
    assert reason(said) == "spec.ports[0].port: Invalid value: 99999: must be between 1 and 65535"


def test_a_policy_denial_loses_only_the_plumbing() -> None:
    said = (
        'the cluster refused this: not allowed here; deployments.apps "api" is forbidden: '
        "ValidatingAdmissionPolicy 'no-latest' denied request: images must be pinned (HTTP 403)"
    )
    assert reason(said) == "ValidatingAdmissionPolicy 'no-latest' denied request: images must be pinned"


def test_a_volume_refusal_is_in_the_apps_words_with_no_kubernetes_word() -> None:
    claim = Ref("v1", "PersistentVolumeClaim", "shop-production", "cache-data")
    desired = {
        "spec": {"resources": {"requests": {"storage": "10Gi"}}},
        "metadata": {"labels": {"unhazzle.io/app": "cache"}},
    }
    live = {
        "spec": {"resources": {"requests": {"storage": "5Gi"}}},
        "status": {"capacity": {"storage": "5Gi"}},
    }
    said = "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize"
    line = in_words(claim, said, desired=desired, live=live)
    assert line.startswith("shop-production: app 'cache': its volume cannot grow")
    assert "--allow-smaller-volume" in line and "PersistentVolumeClaim" not in line
