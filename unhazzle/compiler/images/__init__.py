"""Container images: references, registry logins, the registry client, what an image says about
itself, and digest pinning."""
