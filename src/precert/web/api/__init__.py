"""The JSON API under /api/v1: one module per noun, each handler parsing, calling one service."""

from __future__ import annotations

from fastapi import APIRouter

from precert.web.api import payers, requirements

router = APIRouter(prefix="/api/v1")
router.include_router(requirements.router)
router.include_router(payers.router)
