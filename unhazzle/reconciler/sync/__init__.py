"""One environment made to match its folder: apply, diff, prune, inventory, health, status, and who
may write where."""
