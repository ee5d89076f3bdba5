"""What every use case needs, built once at an entry point: settings, sessions, the clock, rules."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from precert.config import Settings
from precert.domain.requirements import RuleBook
from precert.store.db import make_engine, session_factory, upgrade
from precert.store.models import PayerPackRecord
from precert.store.uow import UnitOfWork

# How long a process trusts its compiled rules before asking the database whether another
# process imported a pack (one cheap MAX(id) query).
RULEBOOK_TTL_SECONDS = 2.0


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    today: Callable[[], dt.date] = dt.date.today
    # The wall clock as an aware UTC datetime; tests hand in a fixed or stepping one.
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    # Hands a queued portal run (its id) to the portal job queue; set by the entry point that
    # runs a consumer (serve, worker). None: the worker's minute sweep picks queued runs up.
    dispatch_portal_run: Callable[[str], None] | None = None
    _book: RuleBook | None = field(default=None, repr=False)
    _book_generation: int | None = field(default=None, repr=False)
    _book_checked: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def rulebook(self) -> RuleBook:
        """Shipped packs plus this installation's imports, recompiled when an import lands."""
        from precert.services.catalog import build_rulebook

        now = time.monotonic()
        if self._book is not None and now - self._book_checked < RULEBOOK_TTL_SECONDS:
            return self._book
        with self._lock:
            generation = self._generation()
            if self._book is None or generation != self._book_generation:
                self._book = build_rulebook(self)
                self._book_generation = generation
            self._book_checked = now
            return self._book

    def forget_rulebook(self) -> None:
        self._book = None

    def _generation(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.coalesce(func.max(PayerPackRecord.id), 0))) or 0


def build_context(
    settings: Settings,
    *,
    migrate: bool = True,
    today: Callable[[], dt.date] | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> Context:
    """Connect to the configured database (bringing its schema up to date by default)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    context = Context(settings, engine, session_factory(engine), today or dt.date.today)
    if now is not None:
        context.now = now
    return context
