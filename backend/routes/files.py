"""Upload, download and deletion of files (API.md §5).

`GET`/`HEAD /api/files/{key}` sit on the public router and check access themselves: a valid signature
from a `file_url` or signed link, or a bearer token. Upload and deletion are behind the usual auth.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.deps import CurrentUser, SessionDep, require_admin
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.schemas.files import FileOut
from backend.services import file_download
from backend.services import files as file_service

public = APIRouter(prefix="/api/files", tags=["files"], route_class=JsonRoute)
router = APIRouter(tags=["files"], route_class=JsonRoute)
_bearer = HTTPBearer(auto_error=False)

_MULTIPART_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}


@router.post(
    "/api/upload", response_model=FileOut, status_code=201, operation_id="files_upload", openapi_extra=_MULTIPART_DOC
)
async def upload(
    request: Request,
    user: CurrentUser,
    private: Annotated[bool, Query(description="Private: no public file_url, fetched by signed link")] = False,
) -> Response:
    """Upload one file (multipart field `file`), streamed to storage. Its type is judged by its content.

    `413` above UPLOAD_MAX_BYTES, `415` for a type not in UPLOAD_ALLOWED_TYPES, `422` without a `file`
    part or for an empty file.
    """
    # No request session here: the auth check ran on the executor, and the file's row is written with its
    # bytes (files.save_upload), so no database connection is held while the upload streams in.
    length = request.headers.get("content-length", "")
    record = await file_service.save_upload(
        request.stream(),
        request.headers.get("content-type"),
        user=user,
        private=private,
        content_length=int(length) if length.isdigit() else None,
    )
    return JSONResponse(record, status_code=201)


@public.get("/{key}", operation_id="files_get", response_class=StreamingResponse)
@public.head("/{key}", operation_id="files_head", response_class=StreamingResponse)
def get_file(
    key: str,
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    sig: Annotated[str | None, Query(description="Signature from a file_url or a signed link")] = None,
    expires: Annotated[str | None, Query(description="Expiry (Unix seconds) of a signed link")] = None,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    """A file's bytes, streamed. Needs a valid `sig` (and `expires` for a signed link) or a bearer token.

    `403` for a wrong or expired signature, `404` for an unknown key; `Range` → `206`, `416` past the end.
    """
    download = file_download.open_download(
        session,
        key,
        sig=sig,
        expires=expires,
        token=credentials.credentials if credentials else None,
        range_header=range_header,
        if_range=if_range,
        if_none_match=if_none_match,
        with_body=request.method != "HEAD",
    )
    if download.body is None:
        return Response(status_code=download.status, headers=download.headers)
    return StreamingResponse(download.body, status_code=download.status, headers=download.headers)


@router.delete("/api/files/{key}", status_code=204, operation_id="files_delete", dependencies=[Depends(require_admin)])
def delete_file(key: str, session: SessionDep) -> Response:
    """Delete a file's bytes and its record (admin)."""
    file_service.delete_file(session, key)
    return Response(status_code=204)
