"""What `status`, `events`, `logs` and `metrics` read from the cluster, and how they say it: read-only."""
