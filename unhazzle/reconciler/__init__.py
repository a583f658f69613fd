"""The reconciler half: environment repo -> cluster."""
