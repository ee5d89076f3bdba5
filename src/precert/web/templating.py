"""The Jinja2 environment for server-rendered pages (autoescaped), with precert's filters."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from precert.web.ui import present

TEMPLATE_DIR = Path(__file__).parent / "templates"

templates = Jinja2Templates(directory=TEMPLATE_DIR)
present.register(templates.env)
