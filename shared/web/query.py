"""A query parameter the endpoint does not take is a 422 naming it, not silently ignored.

    router = APIRouter(prefix="/v1/tickets", dependencies=[reject_unknown_query()])

FastAPI ignores unknown query parameters, so `?chanel=chat` lists every channel's tickets
and the caller never learns of the typo. The dependency answers instead:

    chanel: unknown query parameter (did you mean channel?); allowed: status, channel, limit

The allowed names are the endpoint's declared query parameters (its own, its dependencies',
a query model's fields, by alias). An endpoint that also reads `request.query_params` itself
passes those names: `reject_unknown_query("cursor")`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import Request, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.web.problems import Problem


def reject_unknown_query(*also: str) -> params.Depends:
    """A dependency (for `dependencies=[...]` of a route or router) refusing undeclared query parameters."""

    async def check(request: Request) -> None:
        route = request.scope.get("route")
        if not isinstance(route, APIRoute):
            return
        declared = allowed_query(route)
        allowed = (*declared, *(name for name in also if name not in declared))
        unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in allowed]
        if unknown:
            raise unknown_query_problem(unknown, allowed)

    return params.Depends(check)


def unknown_query_problem(unknown: list[str], allowed: tuple[str, ...]) -> Problem:
    """The 422 for `unknown` names, each with its closest allowed name if one is close."""
    listed = f"allowed: {', '.join(allowed)}" if allowed else "this endpoint takes no query parameters"
    errors = []
    for name in unknown:
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        errors.append({"field": name, "message": f"unknown query parameter{hint}; {listed}"})
    detail = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
    return Problem(422, detail, title="Invalid request", errors=errors)


def allowed_query(route: APIRoute) -> tuple[str, ...]:
    """The query parameter names `route` declares, in declaration order (a walk of a few dependants)."""
    return tuple(dict.fromkeys(_query_names(route.dependant)))


def _query_names(root: Dependant) -> Iterator[str]:
    seen: set[int] = set()
    pending = [root]
    while pending:
        dependant = pending.pop(0)
        if id(dependant) in seen:
            continue
        seen.add(id(dependant))
        for field in dependant.query_params:
            model = _model_of(field.field_info.annotation)
            if model is None:
                yield field.alias
                continue
            for name, info in model.model_fields.items():
                yield info.alias or name
        pending.extend(dependant.dependencies)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model of a query model parameter (`Annotated[Filters, Query()]`, optional or not)."""
    if get_origin(annotation) in (Union, UnionType):
        args = [arg for arg in get_args(annotation) if arg is not NoneType]
        annotation = args[0] if len(args) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None
