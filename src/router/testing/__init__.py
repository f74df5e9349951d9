"""Public test kit: a simulated OpenAI-compatible provider with faults on demand."""
