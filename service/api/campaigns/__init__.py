"""The acknowledgement campaigns resource."""
from __future__ import annotations

from .views import blp

__all__ = ["blp"]
