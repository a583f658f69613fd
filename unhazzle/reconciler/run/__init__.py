"""The reconciler running: the loop (split by verb, one module each), its wiring from the command
line, leader election, logs, metrics and webhooks."""
