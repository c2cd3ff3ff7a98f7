"""Routes that exist only under ``X-EXTERNAL``: ``GET/PUT/DELETE /{module}/{external value}``.

The record routes take digits after ``/{module}/``; an external value can be any
text, so these routes accept any segment, but only for requests carrying the
header (:func:`..http.route` ``header=``): without it such a path stays
``INVALID_URL_PATTERN``, answered before authentication, as before. Imported
last, so ``/{module}/search``, ``/deleted`` and ``/upsert`` still reach their
own handlers. The handlers are the ordinary ones; they read the segment
through :func:`.external_ids.path_record_id`.
"""

from __future__ import annotations

from ..http import route
from .common import API, MODULE, scopes_for
from .records_read import get_record
from .records_write import delete_one, update_one

EXTERNAL_VALUE = r"(?P<id>[^/]+)"
_PATH = API + "/" + MODULE + "/" + EXTERNAL_VALUE

route("GET", _PATH, scopes=scopes_for("READ"), header="X-EXTERNAL")(get_record)
route("PUT", _PATH, scopes=scopes_for("UPDATE"), header="X-EXTERNAL")(update_one)
route("DELETE", _PATH, scopes=scopes_for("DELETE"), header="X-EXTERNAL")(delete_one)
