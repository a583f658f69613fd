"""`unhazzle retry-release`: run an app's failed release step again. A failed step is never
retried by itself (reconciler/sync/release.py); deleting it lets the reconciler's next pass
start it afresh, with the same version."""

from __future__ import annotations

from unhazzle.errors import OperationError
from unhazzle.reconciler.cluster.client import Client
from unhazzle.reconciler.objects import Ref
from unhazzle.reconciler.sync.release import job_state
from unhazzle.shared.names import RELEASE_LABEL


def retry_release(client: Client, *, namespace: str, app: str) -> str:
    """Delete the app's failed release step; the name of the step deleted."""
    jobs = client.list_kind("batch/v1", "Job", namespace=namespace, selector=f"{RELEASE_LABEL}={app}")
    failed = sorted(str(j["metadata"]["name"]) for j in jobs if job_state(j) == "failed")
    if not failed:
        states = ", ".join(f"{j['metadata']['name']}: {job_state(j)}" for j in jobs) or "none"
        raise OperationError(f"app {app} has no failed release step in {namespace} (its steps: {states})")
    for name in failed:
        client.delete(Ref("batch/v1", "Job", namespace, name))
    return failed[-1]
