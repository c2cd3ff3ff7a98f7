"""HTTP to Zoho: one pooled session per connection, retries, throttling, credits, audit, least privilege."""

from .audit import AuditLog, verify_audit_log
from .client import ZohoHttp, ZohoResponse
from .credits import CreditMeter, estimate_credits
from .guard import require_write

__all__ = ["AuditLog", "verify_audit_log", "ZohoHttp", "ZohoResponse", "CreditMeter", "estimate_credits",
           "require_write"]
