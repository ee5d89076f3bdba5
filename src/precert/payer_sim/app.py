"""The simulator's HTTP face: FHIR base `/fhir` with `POST /fhir/Claim/$submit`,
`POST /fhir/Claim/$inquire` and `POST /fhir/Subscription`. Answers are FHIR JSON; errors are
OperationOutcomes (400 for a body that is not JSON, 422 for a Bundle that breaks our PAS checks,
404 for an inquiry about a request never submitted). Every request received is appended to the
received log in the state directory.

`POST /x12` takes one X12 interchange (payer_sim/x12.py): a 278 request is answered with a 278
response, a 270 with a 271, a broken interchange with a rejecting 999 (all application/edi-x12);
400 text for a body with no readable ISA or no request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from precert.channels.fhir.operation_outcome import operation_outcome
from precert.errors import InvalidInput, NotFound, PrecertError
from precert.payer_sim.rules import Rules
from precert.payer_sim.simulator import Simulator
from precert.payer_sim.state import State
from precert.payer_sim.subscriptions import Notifier, read_subscription
from precert.payer_sim.x12 import X12Payer

FHIR_JSON = "application/fhir+json"
EDI_X12 = "application/edi-x12"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_sim_app(
    rules: Rules,
    state_dir: Path,
    clock: Callable[[], dt.datetime] = utc_now,
    *,
    interval: float = 0.05,
) -> FastAPI:
    """The simulator app; its state (SQLite + received log) lives in `state_dir`, and the
    decision thread runs while the app is served (FastAPI lifespan)."""
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = State(state_dir)
        simulator = Simulator(rules, state, clock)
        notifier = Notifier(simulator, interval)
        holder["simulator"] = simulator
        holder["x12"] = X12Payer(simulator)
        notifier.start()
        try:
            yield
        finally:
            notifier.stop()
            state.close()

    app = FastAPI(
        title="precert payer simulator",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    def simulator() -> Simulator:
        found: Simulator = holder["simulator"]
        return found

    @app.post("/fhir/Claim/$submit")
    async def submit(request: Request) -> Response:
        return await _answer(request, "Claim/$submit", lambda body: simulator().submit(body))

    @app.post("/fhir/Claim/$inquire")
    async def inquire(request: Request) -> Response:
        return await _answer(request, "Claim/$inquire", lambda body: simulator().inquire(body))

    @app.post("/fhir/Subscription")
    async def subscribe(request: Request) -> Response:
        def register(body: object) -> dict[str, Any]:
            return simulator().state.subscribe(read_subscription(body)).resource

        response = await _answer(request, "Subscription", register, created=True)
        if response.status_code == 201:
            stored = json.loads(bytes(response.body))
            response.headers["Location"] = f"/fhir/Subscription/{stored['id']}"
        return response

    @app.post("/x12")
    async def x12(request: Request) -> Response:
        """One interchange per body (CORE real time): the 278 or 271 answer, or a rejecting 999."""
        text = (await request.body()).decode("utf-8", "replace")
        payer: X12Payer = holder["x12"]
        try:
            answer, status = payer.answer(text), 200
        except PrecertError as error:
            lines = [error.message, *(issue.message for issue in error.issues)]
            answer, status = "\n".join(lines) + "\n", 400
        simulator().state.log(clock(), "x12", status, text[:2000])
        return Response(
            answer, status_code=status, media_type=EDI_X12 if status == 200 else "text/plain"
        )

    async def _answer(
        request: Request,
        operation: str,
        handle: Callable[[object], dict[str, Any]],
        *,
        created: bool = False,
    ) -> Response:
        raw = await request.body()
        state = simulator().state
        try:
            body: object = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            error = InvalidInput.field("", "The request body is not JSON; send a FHIR resource.")
            state.log(clock(), operation, 400, raw.decode("utf-8", "replace")[:2000])
            return _fhir(operation_outcome(error), 400)
        try:
            result, status = handle(body), 201 if created else 200
        except NotFound as error:
            result, status = operation_outcome(error), 404
        except PrecertError as error:
            result, status = operation_outcome(error), 422
        state.log(clock(), operation, status, body)
        return _fhir(result, status)

    return app


def _fhir(resource: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(resource), status_code=status, media_type=FHIR_JSON)
