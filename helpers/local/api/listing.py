"""The List* operations' shared behaviour: filters, sorting, summaries and NextToken pagination.

Every List answers through ``paginate``: it reads the page size range and the result key from the
operation's shapes, builds each summary from the output shape (``shapes.summary``) and hands out
NextTokens that name the operation (and the resource) they page through, with a checksum, so a
token from another List, another resource or an edited one is refused instead of read as an offset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from helpers.local.api.shapes import list_shape, summary
from helpers.local.core.errors import ValidationException

# MaxResults when a request leaves it out: the service answers generously (and lists every course
# resource in one page); these operations keep the page sizes they have always had here.
DEFAULT_PAGE_SIZE = 100
DEFAULT_PAGE_SIZES = {"ListTags": 50, "ListTrainingJobsForHyperParameterTuningJob": 10}
# Tokens are not secrets: the checksum only makes an edited token fail loudly.
_TOKEN_KEY = b"sagemaker-local NextToken"
_CHECKSUM_BYTES = 8


def list_page(
    operation: str,
    docs: list[dict[str, Any]],
    params: dict[str, Any],
    *,
    name_key: str,
    status_key: str | None,
    describe: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    default_sort: str = "CreationTime",
) -> dict[str, Any]:
    """Filter by NameContains/StatusEquals/creation and modification times, sort, then paginate.

    ``describe`` turns a stored document into its Describe answer when the two differ.
    """
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
    sort_keys = {"Name": name_key, "Status": status_key or name_key, "LastModifiedTime": "LastModifiedTime"}
    sort_key = sort_keys.get(sort_by, "CreationTime")
    docs = sorted(docs, key=lambda d: d.get(sort_key) or 0)
    if params.get("SortOrder", "Descending") == "Descending":
        docs.reverse()

    return paginate(operation, docs, params, describe=describe)


def paginate(
    operation: str,
    items: Sequence[dict[str, Any]],
    params: dict[str, Any],
    *,
    scope: str = "",
    describe: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The page of ``items`` that NextToken and MaxResults ask for, as summaries, plus the next NextToken.

    ``scope`` names what is listed when the operation lists inside one resource (ListTags: the
    ARN), so a token for one resource is not taken for another. ``describe`` runs on the page's
    items only, so an expensive one costs one page's worth.
    """
    shape = list_shape(operation)
    start = _start(params.get("NextToken"), operation, scope)
    size = params.get("MaxResults") or shape.page_size(DEFAULT_PAGE_SIZES.get(operation, DEFAULT_PAGE_SIZE))
    page = items[start : start + size]
    result: dict[str, Any] = {
        shape.result_key: [summary(operation, describe(i) if describe else i) for i in page]
    }
    if start + size < len(items):
        result["NextToken"] = next_token(operation, scope, start + size)
    return result


def next_token(operation: str, scope: str, offset: int) -> str:
    """The NextToken that resumes ``operation`` (on ``scope``) at ``offset``."""
    body = json.dumps([operation, scope, offset], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_checksum(body) + body).decode().rstrip("=")


def _checksum(body: bytes) -> bytes:
    return hashlib.blake2b(body, key=_TOKEN_KEY, digest_size=_CHECKSUM_BYTES).digest()


def _start(token: str | None, operation: str, scope: str) -> int:
    if not token:
        return 0
    shown = token if len(token) <= 64 else token[:64] + "..."
    invalid = ValidationException(
        f"Invalid pagination token '{shown}': pass the NextToken that a previous {operation} call "
        "returned for the same request, or leave NextToken out to start from the first page."
    )
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        checksum, body = raw[:_CHECKSUM_BYTES], raw[_CHECKSUM_BYTES:]
        if checksum != _checksum(body):
            raise invalid
        issued_for, issued_scope, offset = json.loads(body)
    except (ValueError, TypeError, binascii.Error):  # not base64, not JSON, not three values
        raise invalid from None
    if issued_for != operation or issued_scope != scope or not isinstance(offset, int) or offset < 0:
        raise invalid
    return offset


def _epoch(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def pick(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: doc[key] for key in keys if key in doc}
