"""Jinja2 templates of the rendered Kubernetes manifests (package data)."""
