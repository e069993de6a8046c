"""Webhooks (admins register, list, remove and inspect them) and the periodic reviews due."""
from __future__ import annotations

from .views import blp

__all__ = ["blp"]
