"""Root pytest configuration: load the harness's pytest layer (options, fixtures, markers)."""

pytest_plugins = ["pytester"]
