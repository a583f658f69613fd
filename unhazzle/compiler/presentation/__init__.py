"""The plan as people and programs read it: text, JSON, Markdown, the pull-request preview, explain."""
