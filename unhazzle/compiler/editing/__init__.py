"""Editing unhazzle.yaml for the user (`init`, `env import`), keeping their comments."""
