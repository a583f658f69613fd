pytest_plugins = ["tests.cluster.plugin"]
