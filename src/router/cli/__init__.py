"""The `router` command line: a thin adapter over the library (args -> objects -> exit code)."""
