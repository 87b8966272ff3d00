"""localthink: private chat with small reasoning models, and a way to build your own."""

from localthink.errors import LocalthinkError

__version__ = "0.1.0"
__all__ = ["LocalthinkError", "__version__"]
