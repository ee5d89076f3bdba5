"""Dependencies route handlers share: the services Context built once by create_app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from precert.services.context import Context


async def get_context(request: Request) -> Context:
    # async: a plain attribute read; a sync dependency would cost a thread hop on every request.
    context: Context = request.app.state.ctx
    return context


ContextDep = Annotated[Context, Depends(get_context)]
