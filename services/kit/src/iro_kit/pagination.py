"""`?limit=&cursor=` pagination with an opaque cursor, the same in every service (API.md).

The cursor encodes an offset: the lists here are an authority's children, IROs or disputes
(thousands, not millions), often computed (worklists sorted by urgency) rather than queried.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from iro_kit.errors import FieldProblem, Unprocessable

T = TypeVar("T")


def _page_example(schema: dict[str, Any], page: type[BaseModel]) -> None:
    """A page's example: the first page of several, holding the item's own example."""
    args = page.__pydantic_generic_metadata__["args"]
    extra = getattr(args[0], "model_config", {}).get("json_schema_extra") if args else None
    if isinstance(extra, dict) and "example" in extra:
        schema["example"] = {
            "items": [extra["example"]],
            "next_cursor": encode_cursor(50),
            "total": None,
        }


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_example)
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    total: int | None = Field(default=None, description="Only when asked for with `count=true`.")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int
    count: bool

    def page(self, items: Sequence[T], *, has_more: bool, total: int | None = None) -> Page[T]:
        next_cursor = encode_cursor(self.offset + self.limit) if has_more else None
        return Page[T](
            items=list(items), next_cursor=next_cursor, total=total if self.count else None
        )

    def slice(self, items: Sequence[T]) -> Page[T]:
        """A page of an already computed, sorted list."""
        window = items[self.offset : self.offset + self.limit]
        return self.page(window, has_more=self.offset + self.limit < len(items), total=len(items))


# Far beyond any list here, and within every database's integer: a forged cursor with a huge
# offset is a 422, not an overflow in the database driver.
MAX_OFFSET = 10_000_000


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise _bad_cursor() from exc
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise _bad_cursor()
    return offset


def _bad_cursor() -> Unprocessable:
    return Unprocessable(
        "The cursor is not one this API issued.",
        errors=[FieldProblem(pointer="/cursor", location="query", message="Invalid cursor")],
    )


async def _page_request(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (max 500).")] = 50,
    cursor: Annotated[
        str | None, Query(description="From the previous page's `next_cursor`.")
    ] = None,
    count: Annotated[bool, Query(description="Also return the total number of items.")] = False,
) -> PageRequest:
    return PageRequest(limit=limit, offset=decode_cursor(cursor) if cursor else 0, count=count)


PageDep = Annotated[PageRequest, Depends(_page_request)]
