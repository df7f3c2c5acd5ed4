pytest_plugins = ["iro_kit.testing"]
