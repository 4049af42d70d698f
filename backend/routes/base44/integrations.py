"""Base44 integrations (API.md §7.5) and functions (§7.6): thin adapters over the files, mail,
matching and WhatsApp services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from backend.deps import AfterCommitResponse, CurrentUser, SessionDep
from backend.errors import BadRequest, NotConfigured, NotFound, ValidationFailed
from backend.jsonutil import JSONResponse, loads
from backend.routes.base44.common import AppId, check_app
from backend.routing import JsonRoute
from backend.schemas.matching import GenerateMatchesIn
from backend.schemas.whatsapp import SendBulkIn, SendIn
from backend.services import files as file_service
from backend.services import mail
from backend.services.entities import Actor
from backend.services.matching import access as matching_access
from backend.services.matching import generate_matches
from backend.services.matching.runs import generate_and_alert
from backend.services.whatsapp import bulk, send

router = APIRouter(prefix="/api/apps/{app_id}", tags=["Base44 integrations"], route_class=JsonRoute)
NOT_CONFIGURED = {"InvokeLLM", "GenerateImage", "ExtractDataFromUploadedFile"}


def _model(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        errors = [{"type": e["type"], "loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        raise ValidationFailed(
            "Invalid input: " + "; ".join(str(e["msg"]) for e in errors[:3]), detail=errors
        ) from None


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = loads(raw) if raw else {}
    except ValueError:
        raise BadRequest("The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("Expected a JSON object of named parameters")
    return data


@router.post("/integration-endpoints/Core/{name}", operation_id="b44_core_integration")
async def core(app_id: AppId, name: str, request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """`UploadFile` → `{file_url}`, `UploadPrivateFile` → `{file_uri}`, `CreateFileSignedUrl` → `{signed_url}`,
    `SendEmail` (SMTP). `InvokeLLM`, `GenerateImage`, `ExtractDataFromUploadedFile` → 501 `not_configured`."""
    check_app(app_id)
    if name in ("UploadFile", "UploadPrivateFile"):
        length = request.headers.get("content-length", "")
        saved = await file_service.save_upload(
            request.stream(), request.headers.get("content-type"), user=user, private=name == "UploadPrivateFile",
            content_length=int(length) if length.isdigit() else None,
        )  # fmt: skip
        return JSONResponse({"file_uri": saved["file_uri"]} if saved["private"] else {"file_url": saved["file_url"]})
    if name == "CreateFileSignedUrl":
        data = await _json(request)
        url = await run_in_threadpool(
            file_service.create_signed_url, session, data.get("file_uri"), data.get("expires_in", 300), user.viewer
        )
        return JSONResponse({"signed_url": url})
    if name == "SendEmail":
        data = await _json(request)
        body = data.get("body")
        if not isinstance(body, str) or not isinstance(data.get("subject", ""), str):
            raise BadRequest("SendEmail takes `to`, `subject` and `body` as text")
        to, subject = str(data.get("to") or ""), str(data.get("subject") or "")
        await run_in_threadpool(mail.send_mail, to, subject, body, data.get("from_name"))
        return JSONResponse({"success": True})
    if name in NOT_CONFIGURED:
        raise NotConfigured(f"{name} needs an AI provider, and none is configured on this server")
    raise NotFound(f"No integration named {name[:60]!r}")


@router.post("/functions/{name}", operation_id="b44_function")
def function(
    app_id: AppId, name: str, session: SessionDep, user: CurrentUser,
    body: Annotated[Any, Body()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:  # fmt: skip
    """`generateMatches` (§6.1; `pairing` picks the pairing, default the seed's), `GenerateAndAlertMatches`
    (every alerting pairing — the office's brokerage matches — over all records, then alerts: one digest per
    person), `sendWhatsApp` (§6.2), `sendWhatsAppBulk` (§6.3)."""
    check_app(app_id)
    if name == "GenerateAndAlertMatches":
        matching_access.check_may_alert(Actor.of(user))
        return JSONResponse(generate_and_alert(session))
    if name == "generateMatches":
        params = _model(GenerateMatchesIn, body)
        matching_access.check_may_generate(Actor.of(user), params.pairing)
        return JSONResponse(generate_matches(session, **params.model_dump()))
    if name == "sendWhatsApp":
        reservation = send.reserve(session, _model(SendIn, body), user, idempotency_key)
        return AfterCommitResponse(lambda: send.deliver(reservation))
    if name == "sendWhatsAppBulk":
        return JSONResponse(bulk.send_bulk(session, _model(SendBulkIn, body), user), status_code=202)
    raise NotFound(f"No function named {name[:60]!r}")
