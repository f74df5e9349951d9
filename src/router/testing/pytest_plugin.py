"""pytest plugin registered through the `pytest11` entry point: the `simulated_provider` fixture."""
