"""Channel adapters: they translate platform payloads to InboundEvents and replies to platform calls."""
