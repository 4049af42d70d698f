"""Every model, imported in one place so Alembic and the registry see them all."""

from backend.models.client import Client
from backend.models.contact import Contact
from backend.models.document import Document
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
    "RevokedToken",
    "ServiceCall",
    "Supplier",
    "Task",
    "User",
]
