"""WhatsApp sending and the provider's webhooks (API.md §6.2–§6.4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse

from backend.deps import AfterCommitResponse, CurrentUser, SessionDep
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.schemas.whatsapp import BatchOut, SendBulkIn, SendBulkOut, SendIn
from backend.services.whatsapp import bulk, send, webhooks
from backend.services.whatsapp.access import may_manage_batches

router = APIRouter(prefix="/api/whatsapp", tags=["whatsapp"], route_class=JsonRoute)
public = APIRouter(prefix="/api/whatsapp", tags=["whatsapp"], route_class=JsonRoute)
BatchId = Annotated[str, Path(max_length=64)]


@router.post("/send", operation_id="whatsapp_send")
def send_message(
    body: SendIn,
    session: SessionDep,
    user: CurrentUser,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    """Send one message now to `to`, `lead_id` or `contact_id`: `message` text (`{first_name}`-style
    placeholders allowed) or an approved `template`. Answers `200` with the MarketingLog of the attempt
    (`sent`, `failed` with the provider's code, or `unknown` when the provider did not answer in time).
    Invalid phone → 422, opted out → 409. A repeat with the same `Idempotency-Key` returns the first
    result and sends nothing. The message is written first and sent once that write has committed."""
    reservation = send.reserve(session, body, user, idempotency_key)
    return AfterCommitResponse(lambda: send.deliver(reservation))


@router.post("/send-bulk", status_code=202, response_model=SendBulkOut, operation_id="whatsapp_send_bulk")
def send_bulk(body: SendBulkIn, session: SessionDep, user: CurrentUser) -> Response:
    """Queue up to 10,000 messages (a `recipients` list or an `audience` query) and answer `202` once they
    are stored. Duplicates (after E.164 normalisation), invalid phones, opted-out recipients and unknown
    records are skipped and listed. `dry_run: true` reports the same without queueing anything."""
    answer = bulk.send_bulk(session, body, user)
    headers = {}
    if answer["batch_id"]:
        headers["Location"] = f"/api/whatsapp/batches/{answer['batch_id']}"
    return JSONResponse(answer, status_code=202, headers=headers)  # the sender wakes once this commits


@router.get("/batches/{batch_id}", response_model=BatchOut, operation_id="whatsapp_batch")
def get_batch(batch_id: BatchId, session: SessionDep, user: CurrentUser) -> Response:
    """A batch's progress: messages counted by their current status, plus the skipped."""
    may_manage_batches(user, "read")
    return JSONResponse(bulk.batch_view(session, batch_id))


@router.post("/batches/{batch_id}/cancel", response_model=BatchOut, operation_id="whatsapp_batch_cancel")
def cancel_batch(batch_id: BatchId, session: SessionDep, user: CurrentUser) -> Response:
    """Stop the rest of a batch: queued messages become `cancelled`; one already being sent finishes."""
    may_manage_batches(user, "update")
    return JSONResponse(bulk.cancel_batch(session, batch_id))


@router.post("/batches/{batch_id}/resume", response_model=BatchOut, operation_id="whatsapp_batch_resume")
def resume_batch(batch_id: BatchId, session: SessionDep, user: CurrentUser) -> Response:
    """Resume a batch the sender paused because the provider refused the access token (code 190)."""
    may_manage_batches(user, "update")
    return JSONResponse(bulk.resume_batch(session, batch_id))


@public.get("/webhook", response_class=PlainTextResponse, operation_id="whatsapp_webhook_verify")
def verify_webhook(
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=64)] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token", max_length=512)] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=512)] = None,
) -> Response:
    """Meta's verification handshake: echoes `hub.challenge` when `hub.verify_token` is right, else 403."""
    return PlainTextResponse(webhooks.verify_handshake(mode, token, challenge))


@public.post("/webhook", operation_id="whatsapp_webhook")
async def receive_webhook(request: Request, session: SessionDep) -> Response:
    """Status and inbound-message events, authenticated by `X-Hub-Signature-256` (HMAC-SHA256 of the raw
    body with the app secret): missing → 401, wrong → 403, not an event → 400."""
    raw = await request.body()
    signature = request.headers.get("x-hub-signature-256")
    return JSONResponse(await run_in_threadpool(webhooks.handle_event, session, raw, signature))
