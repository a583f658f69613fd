"""One module per command: each adds its parser and runs it."""

DEFAULT_SPEC = "unhazzle.yaml"  # the spec a command reads when none is named
