"""Route handlers, one module per endpoint family. Importing this package registers them all.

Order matters: specific paths (``/Leads/search``, ``/coql``, ``/settings/...``)
register before the generic ``/{module}`` and ``/{module}/{id}`` routes, and the
``X-EXTERNAL`` routes (any path segment as a record key) come after everything.
"""

from . import admin, oauth, metadata, org_settings, custom_views, related_lists, files, attachments  # noqa: F401,I001
from . import contact_roles, photos, related_records  # noqa: F401,I001
from . import related_links, tags  # noqa: F401,I001
from . import coql, search, bulk_read, bulk_write, backup, mutate  # noqa: F401,I001  (bulk_read imports records_read)
from . import records_write, records_upsert, records_deleted, records_read  # noqa: F401,I001
from . import external_routes  # noqa: F401  (last: its routes exist only under X-EXTERNAL)
