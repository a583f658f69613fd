"""Manifests from the plan through the templates, and writing them to disk whole."""
