"""``python -m connector.cli ...`` runs the ``zohocrm`` command (useful where the script is not on PATH)."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
