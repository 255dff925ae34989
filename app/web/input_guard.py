"""One guard in front of every route: input that a database would choke on is refused with 422.

PostgreSQL refuses text with NUL characters and integers beyond 64 bits fail on SQLite (and compare as numerics
on PostgreSQL): left to the database, one becomes a 500 and the two databases answer differently. The guard
runs as an app-wide dependency, before the route's own parameters are used. NUL characters are refused in any
path, query or form value and in JSON bodies; the integer bound applies to the parameters a route declares as
integers (found from the route itself, so a text search may still hold a long run of digits).
"""

from __future__ import annotations

import re
import types
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Each route remembers its integer parameters under this attribute (routes cannot be dictionary keys).
CACHE = "_proxgate_integer_params"
NONE: dict[str, set[str]] = {"path": set(), "query": set(), "body": set()}


def _refuse(where: str, name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": (where, name), "msg": message}])


def _check(where: str, name: str, value: str, integer: bool) -> None:
    if "\x00" in value or "\x00" in name:
        raise _refuse(where, name, "text may not contain NUL characters")
    if integer and INTEGER.match(value) and not INT64_MIN <= int(value) <= INT64_MAX:
        raise _refuse(where, name, f"a number must fit in 64 bits ({INT64_MIN} to {INT64_MAX})")


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_integer(arg) for arg in get_args(annotation))
    return False


def _integer_params(route: APIRoute) -> dict[str, set[str]]:
    """The route's integer parameters, including those inside query models and sub-dependencies."""
    found: dict[str, set[str]] = {"path": set(), "query": set(), "body": set()}
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        pending.extend(dependant.dependencies)
        for where, params in (
            ("path", dependant.path_params),
            ("query", dependant.query_params),
            ("body", dependant.body_params),
        ):
            for param in params:
                annotation = param.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    fields = annotation.model_fields.items()
                    found[where].update(f.alias or n for n, f in fields if _is_integer(f.annotation))
                elif _is_integer(annotation):
                    found[where].add(param.alias)
    return found


async def guard_input(request: Request) -> None:
    """Refuse NUL characters anywhere and integers beyond 64 bits where the route expects an integer (422)."""
    route = request.scope.get("route")
    integers = getattr(route, CACHE, None) or NONE
    if isinstance(route, APIRoute) and integers is NONE:
        integers = _integer_params(route)
        setattr(route, CACHE, integers)
    for name, value in request.path_params.items():
        _check("path", name, str(value), name in integers["path"])
    for name, value in request.query_params.multi_items():
        _check("query", name, value, name in integers["query"])
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES):
        for name, value in (await request.form()).multi_items():
            if isinstance(value, str):
                _check("body", name, value, name in integers["body"])
    elif "json" in content_type and b"\\u0000" in (await request.body()).lower():
        raise _refuse("body", "json", "text may not contain NUL characters")
