"""The environment repo: Git, signed commits, and the guard every folder passes before it is applied."""
