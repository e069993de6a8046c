"""Search: every state of every section of every published version, indexed by the database's full-text engine."""
from __future__ import annotations

from .reads import find
from .tables import TABLES, search_policies, search_sections, search_versions
from .text import Query, QueryError, Term, fold, parse, snippet, words
from .writer import on_appended

__all__ = ["TABLES", "Query", "QueryError", "Term", "find", "fold", "on_appended", "parse", "search_policies",
           "search_sections", "search_versions", "snippet", "words"]
