"""The sealed broker: callers that never hold a Zoho secret (see ``envelope.py`` for its answers)."""
