"""The plan: sizing from the five answers, what the cluster can place, cost and budgets. Pure."""
