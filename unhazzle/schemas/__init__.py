"""The JSON Schema of unhazzle.yaml, generated from the model (package data)."""
