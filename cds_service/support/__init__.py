"""Injectable sources of time and randomness; imports nothing else from the package."""
