"""The version of duolm (one place, read by the package and the report)."""

__version__ = "0.1.0"
