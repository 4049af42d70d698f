"""Self-hosted backend for the real-estate CRM that replaces Base44."""

__version__ = "0.1.0"
