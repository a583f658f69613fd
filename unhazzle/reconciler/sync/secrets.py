"""The seam to the secrets half (issue 7): decrypted values in, one `<app>-secrets` Secret per app
out. Decryption itself belongs to the secrets module; until it is wired in, an environment with a
`_secrets.json` is refused (with that reason) rather than applied without its secrets."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from unhazzle.reconciler.objects import Obj
from unhazzle.shared.names import APP_LABEL, ENVIRONMENT_LABEL, MANAGED_BY, OURS, PROJECT_LABEL

# `_secrets.json` document -> {app: {SECRET_NAME: value}}; raises on a value it cannot decrypt.
Decryptor = Callable[[dict[str, Any]], Mapping[str, Mapping[str, str]]]


def secret_objects(
    namespace: str, values: Mapping[str, Mapping[str, str]], *, project: str, environment: str
) -> list[Obj]:
    """One Secret per app, keys = secret names. `data` (base64), not `stringData`: the server
    never returns stringData, so applying it would look like drift on every reconcile."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": f"{app}-secrets",
                "namespace": namespace,
                "labels": {
                    MANAGED_BY: OURS,
                    "app.kubernetes.io/part-of": project,
                    APP_LABEL: app,
                    ENVIRONMENT_LABEL: environment,
                    PROJECT_LABEL: project,
                },
            },
            "data": {
                key: base64.b64encode(value.encode()).decode() for key, value in sorted(secrets.items())
            },
        }
        for app, secrets in sorted(values.items())
    ]
