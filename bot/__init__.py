"""Channel adapters: platform payloads to InboundEvents, and replies to platform calls."""
