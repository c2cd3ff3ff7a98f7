"""The sealed broker: callers that never hold a Zoho secret (``connector/auth/envelope.py`` seals its answers)."""
