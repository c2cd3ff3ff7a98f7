"""OAuth for Zoho CRM and where its tokens persist."""

from __future__ import annotations

# Sealed token store (connector/auth/token_store.py, keys.py, pqc.py).
from connector.auth.keys import StoreKeys
from connector.auth.sealed_store import SealedTokenStore
from connector.auth.token_store import (
    MemoryTokenStore,
    SealedFileError,
    TokenSet,
    TokenStore,
    open_sealed,
    seal,
)

__all__ = [
    # Sealed token store.
    "MemoryTokenStore",
    "SealedFileError",
    "SealedTokenStore",
    "StoreKeys",
    "TokenSet",
    "TokenStore",
    "open_sealed",
    "seal",
]
