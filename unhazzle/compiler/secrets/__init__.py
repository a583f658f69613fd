"""Secret values: the encrypted file beside the spec, the commands that change it, the checks that
every app has its values, and their way into the environment repo."""
