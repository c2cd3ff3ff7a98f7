"""Route handlers, one module per endpoint family. Importing this package registers them all.

Order matters: specific paths (``/Leads/search``, ``/coql``, ``/settings/...``)
register before the generic ``/{module}`` and ``/{module}/{id}`` routes.
"""

from . import admin, oauth, metadata, coql, search, bulk_read, bulk_write, mutate, records_write, records_read  # noqa: F401,I001
