"""Every model, imported in one place so Alembic and the registry see them all.

The office's entities are generated from their declarations (backend/entities/*.json, see
models/entities.py); the names below are the ones the services use directly.
"""

from typing import Any

from backend.models.automation import MatchAlert, MeetingReminder
from backend.models.document import Document
from backend.models.entities import DECLARATIONS, ENTITY_MODELS
from backend.models.file import StoredFile
from backend.models.import_map import RehostedFile
from backend.models.outbox import OutboxEntry
from backend.models.schema_store import RegistryGeneration, StoredSchema
from backend.models.user import LoginFailure, PasswordReset, RevokedToken, User
from backend.models.whatsapp import WhatsAppBatch, WhatsAppIdempotencyKey, WhatsAppOptOut, WhatsAppPacer

Client: Any = ENTITY_MODELS["Client"]
Contact: Any = ENTITY_MODELS["Contact"]
MarketingLead: Any = ENTITY_MODELS["MarketingLead"]
MarketingLog: Any = ENTITY_MODELS["MarketingLog"]
Match: Any = ENTITY_MODELS["Match"]
Property: Any = ENTITY_MODELS["Property"]

__all__ = [
    "DECLARATIONS",
    "ENTITY_MODELS",
    "Client",
    "Contact",
    "Document",
    "LoginFailure",
    "MarketingLead",
    "MarketingLog",
    "Match",
    "MatchAlert",
    "MeetingReminder",
    "OutboxEntry",
    "PasswordReset",
    "Property",
    "RegistryGeneration",
    "RehostedFile",
    "RevokedToken",
    "StoredFile",
    "StoredSchema",
    "User",
    "WhatsAppBatch",
    "WhatsAppIdempotencyKey",
    "WhatsAppOptOut",
    "WhatsAppPacer",
]
