"""The one query engine: `q`/sort/fields/cursor → SQL, for every entity on both surfaces."""

from backend.services.query.listing import Page, count, list_page, select_ids
from backend.services.query.params import ListParams, parse_list_params

__all__ = ["ListParams", "Page", "count", "list_page", "parse_list_params", "select_ids"]
