"""The product: dialogue engine, learning content and the runner. Imports no platform library."""
