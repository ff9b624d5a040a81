"""The FastAPI app, the CLI and the composition root that wires core/, storage/ and bot/."""
