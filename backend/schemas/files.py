"""Shape of a stored file's record (documentation of the upload answer)."""

from __future__ import annotations

from pydantic import BaseModel


class FileOut(BaseModel):
    file_url: str | None  # null for a private file: it is fetched through a signed link only
    file_uri: str
    file_name: str
    size: int
    content_type: str
    sha256: str
    private: bool
