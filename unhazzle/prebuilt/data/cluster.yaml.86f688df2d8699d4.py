"""compiler/rules/data/cluster.yaml as ruamel.yaml's safe loader reads it.

Made by `make prebuilt`; do not edit."""

import datetime

DATA = {'ingress_class': 'nginx',
 'ingress_namespace': 'ingress-nginx',
 'cluster_issuer': 'letsencrypt',
 'base_domain': 'unhazzle.app',
 'run_as_user': 10001,
 'node_type': 'cx33',
 'node_reserved': {'cpu': 0.1, 'memory_mb': 256},
 'load_balancer_type': 'lb11',
 'public_apps_per_load_balancer': 10,
 'price_date': None,
 'cost_split': {'cpu_vcpu_hour': 0.031611, 'ram_gb_hour': 0.004237}}
