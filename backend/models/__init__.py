"""Every model, imported in one place so Alembic and the registry see them all."""

from backend.models.client import Client
from backend.models.contact import Contact
from backend.models.document import Document
from backend.models.file import StoredFile
from backend.models.import_map import RehostedFile
from backend.models.marketing_lead import MarketingLead
from backend.models.marketing_log import MarketingLog
from backend.models.match import Match
from backend.models.meeting import Meeting
from backend.models.project import Project
from backend.models.property import Property
from backend.models.service_call import ServiceCall
from backend.models.supplier import Supplier
from backend.models.task import Task
from backend.models.user import LoginFailure, PasswordReset, RevokedToken, User
from backend.models.whatsapp import WhatsAppBatch, WhatsAppIdempotencyKey, WhatsAppOptOut, WhatsAppPacer

__all__ = [
    "Client",
    "Contact",
    "Document",
    "LoginFailure",
    "MarketingLead",
    "MarketingLog",
    "Match",
    "Meeting",
    "PasswordReset",
    "Project",
    "Property",
    "RehostedFile",
    "RevokedToken",
    "ServiceCall",
    "StoredFile",
    "Supplier",
    "Task",
    "User",
    "WhatsAppBatch",
    "WhatsAppIdempotencyKey",
    "WhatsAppOptOut",
    "WhatsAppPacer",
]
