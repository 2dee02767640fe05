"""openscout: choose an open large language model for your use case, on your own hardware."""

__version__ = "0.1.0"
