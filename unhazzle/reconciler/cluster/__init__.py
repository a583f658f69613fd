"""The door to the API server: the one client, and why a connection file cannot be used."""
