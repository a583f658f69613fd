"""Publishing to the environment repo with Git: what changes, in words, and the repo's index."""
