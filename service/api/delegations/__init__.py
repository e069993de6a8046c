"""The delegations resource: a person names a delegate for a period; failed re-authentications at signing."""
from __future__ import annotations

from .views import blp

__all__ = ["blp"]
