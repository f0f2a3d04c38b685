"""Shared by every test folder: ``tests/`` on the import path, for the helpers beside it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
