"""Reading unhazzle.yaml: YAML with positions, the model, the checks across it, environment overrides,
the JSON Schema and did-you-mean suggestions."""
