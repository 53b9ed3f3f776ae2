"""The List* operations' shared behaviour: filters, sorting and NextToken pagination."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from helpers.local.core.errors import ValidationException

T = TypeVar("T")


def list_page(
    docs: list[dict[str, Any]],
    params: dict[str, Any],
    *,
    name_key: str,
    status_key: str | None,
    summary: Callable[[dict[str, Any]], dict[str, Any]],
    result_key: str,
    default_sort: str = "CreationTime",
) -> dict[str, Any]:
    """Filter by NameContains/StatusEquals/creation and modification times, sort, then paginate."""
    name_contains = params.get("NameContains")
    if name_contains:
        docs = [d for d in docs if name_contains.lower() in d[name_key].lower()]
    status = params.get("StatusEquals")
    if status and status_key:
        docs = [d for d in docs if d.get(status_key) == status]
    for field, key, keep in (
        ("CreationTimeAfter", "CreationTime", lambda v, t: v > t),
        ("CreationTimeBefore", "CreationTime", lambda v, t: v < t),
        ("LastModifiedTimeAfter", "LastModifiedTime", lambda v, t: v > t),
        ("LastModifiedTimeBefore", "LastModifiedTime", lambda v, t: v < t),
    ):
        if field in params:
            bound = _epoch(params[field])
            docs = [d for d in docs if key in d and keep(d[key], bound)]

    sort_by = params.get("SortBy", default_sort)
    sort_key = {"Name": name_key, "Status": status_key or name_key}.get(sort_by, "CreationTime")
    docs = sorted(docs, key=lambda d: d.get(sort_key) or 0)
    if params.get("SortOrder", "Descending") == "Descending":
        docs.reverse()

    return paginate(docs, params, result_key, summary)


def paginate(
    items: Sequence[T],
    params: dict[str, Any],
    result_key: str,
    summary: Callable[[T], Any] | None = None,
    default_size: int = 100,
) -> dict[str, Any]:
    """The page of ``items`` that NextToken (an offset) and MaxResults ask for, plus the next NextToken.

    ``summary`` is applied to the page's items only, so an expensive one costs one page's worth.
    """
    start = _start(params.get("NextToken"))
    size = params.get("MaxResults", default_size)
    page = items[start : start + size]
    result: dict[str, Any] = {result_key: [summary(i) for i in page] if summary else list(page)}
    if start + size < len(items):
        result["NextToken"] = str(start + size)
    return result


def _epoch(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def _start(token: str | None) -> int:
    # Tokens are the offsets this module hands out; anything else was not returned by a call.
    if not token:
        return 0
    if not (token.isascii() and token.isdigit() and len(token) <= 18):
        shown = token if len(token) <= 64 else token[:64] + "..."
        raise ValidationException(
            f"Invalid pagination token '{shown}': pass the NextToken a previous call returned, or "
            "leave NextToken out to start from the first page."
        )
    return int(token)


def pick(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: doc[key] for key in keys if key in doc}
