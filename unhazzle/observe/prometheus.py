"""Requests and error rates per app from the ingress controller's Prometheus metrics.

The series is ingress-nginx's `nginx_ingress_controller_requests` (a counter labelled with the
ingress, which Unhazzle names after the app, and the HTTP status). We say which series we read,
so an operator with another controller knows what to expose.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from unhazzle.errors import OperationError

SERIES = "nginx_ingress_controller_requests"
RATE_WINDOW = "5m"


def queries(namespace: str) -> dict[str, str]:
    """PromQL for requests per second and 5xx answers per second, by app, over RATE_WINDOW."""
    match = f'namespace="{namespace}"'
    return {
        "requests": f"sum by (ingress) (rate({SERIES}{{{match}}}[{RATE_WINDOW}]))",
        "errors": f'sum by (ingress) (rate({SERIES}{{{match},status=~"5.."}}[{RATE_WINDOW}]))',
    }


def query(base_url: str, promql: str, *, timeout: float = 5.0) -> dict[str, float]:
    """An instant query's vector as {ingress: value}."""
    url = f"{base_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    if not url.startswith(("http://", "https://")):
        raise OperationError(f"{base_url}: not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: Any = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise OperationError(f"{base_url}: Prometheus does not answer ({exc})") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        raise OperationError(f"{base_url}: Prometheus refused the query: {str(body)[:200]}")
    result = body.get("data", {}).get("result") or []
    return {
        str(item.get("metric", {}).get("ingress", "")): float(item.get("value", [0, "0"])[1])
        for item in result
        if isinstance(item, dict)
    }


def rates(base_url: str, namespace: str) -> dict[str, dict[str, float]]:
    """{app: {"requests_per_s", "errors_per_s"}} for the apps that had traffic."""
    found = {name: query(base_url, promql) for name, promql in queries(namespace).items()}
    return {
        app: {"requests_per_s": value, "errors_per_s": found["errors"].get(app, 0.0)}
        for app, value in sorted(found["requests"].items())
        if app
    }
