"""Unhazzle: run apps on Kubernetes from one unhazzle.yaml, without learning Kubernetes."""

__version__ = "0.1.0"
