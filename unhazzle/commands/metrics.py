"""`unhazzle metrics [APP] [--env ENV] [--prometheus URL]`: how busy it is. CPU and memory per
instance from the cluster's metrics service, against the app's size; requests and error rates per
app from the ingress controller's Prometheus series when a Prometheus URL is given. A source that
is not installed is one plain line, not a failure."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from unhazzle.commands.target import Env, add_target, environments, resolve

NO_METRICS = "CPU and memory: not available (the cluster has no metrics service installed)"


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "metrics",
        help="how busy your apps are: CPU and memory per instance, requests and errors",
        description="CPU and memory per instance against the app's size; requests and error "
        "rates per app from Prometheus when --prometheus (or $UNHAZZLE_PROMETHEUS) is given.",
    )
    add_target(parser)
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus base URL for requests and errors")
    parser.add_argument("--output", choices=["text", "json"], default="text", help="text (default) or json")
    parser.set_defaults(run=run)


def collect(reader: Any, env: Env, *, app: str | None, prometheus: str | None) -> dict[str, Any]:
    from unhazzle.errors import OperationError
    from unhazzle.observe import prometheus as prom
    from unhazzle.observe import reads as observe
    from unhazzle.observe.usage import usage_rows

    out: dict[str, Any] = {"environment": env.name, "instances": None, "traffic": None, "notes": []}
    try:
        measured = observe.usage(reader, env.namespace)
        pods = observe.snapshot(reader, env.namespace, with_events=False).pods
        out["instances"] = [
            row.as_json() | {"text": row.text()} for row in usage_rows(measured, pods, only=app)
        ]
    except observe.MetricsUnavailable:
        out["notes"].append(NO_METRICS)
    if prometheus is None:
        out["notes"].append(
            "requests and errors: give --prometheus URL (the Prometheus that collects the "
            "cluster's HTTPS entrance) to see them"
        )
        return out
    try:
        traffic = prom.rates(prometheus, env.namespace)
    except OperationError as err:
        out["notes"].append(f"requests and errors: not available ({err})")
        return out
    out["traffic"] = {"series": prom.SERIES, "window": prom.RATE_WINDOW, "apps": {
        name: rates for name, rates in traffic.items() if app is None or name == app
    }}  # fmt: skip
    return out


def run(args: argparse.Namespace) -> int:
    from unhazzle.observe import reads as observe

    target = resolve(args)
    reader = observe.connect(args.kubeconfig)
    prometheus = args.prometheus or os.environ.get("UNHAZZLE_PROMETHEUS") or None
    found = [
        collect(reader, env, app=target.app, prometheus=prometheus) for env in environments(target, reader)
    ]
    if args.output == "json":
        print(json.dumps({"format": 1, "environments": found}, indent=2, sort_keys=True))
        return 0
    for env in found:
        print(f"{env['environment']}:")
        for row in env["instances"] or []:
            print(f"  {row['text']}")
        if env["instances"] == []:
            print("  no instances measured yet")
        traffic = env["traffic"]
        if traffic:
            print(f"  requests per app ({traffic['series']}, last {traffic['window']}):")
            for name, rates in traffic["apps"].items():
                print(
                    f"    {name}: {rates['requests_per_s']:.2f}/s, errors (5xx) {rates['errors_per_s']:.2f}/s"
                )
            if not traffic["apps"]:
                print("    no requests seen")
        for note in env["notes"]:
            print(f"  {note}")
    return 0
