"""The one query engine: `q`/sort/fields/cursor → SQL, for every entity on both surfaces."""

from backend.services.query.listing import Page, PageQuery, count_query, page_query, select_ids, where_clause
from backend.services.query.params import ListParams, parse_list_params

__all__ = [
    "ListParams",
    "Page",
    "PageQuery",
    "count_query",
    "page_query",
    "parse_list_params",
    "select_ids",
    "where_clause",
]
