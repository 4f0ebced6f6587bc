"""Every table of Solveloop on one metadata (imported by migrations and schema checks)."""

from articles.feedback import ArticleView, ArticleVote
from articles.models import Article, Base, Category, IndexOutbox, Phrasing, Revision, Tag
from articles.staleness import ArticleCheck
from portal.admin.models import Setting, SettingChange, SynonymGroup
from portal.auth.models import AuthSession, User
from portal.intake.models import Deflection
from portal.kb.gap_reports import GapReport
from portal.kb.models import SearchLog
from portal.tickets.attachments import Attachment
from portal.tickets.canned import CannedReply
from portal.tickets.models import IncomingMail, Ticket, TicketEvent
from portal.tickets.notifications import Notification
from portal.tickets.saved_views import SavedView
from portal.tickets.text_search import ticket_terms

metadata = Base.metadata

__all__ = [
    "Article",
    "ArticleCheck",
    "ArticleView",
    "ArticleVote",
    "Attachment",
    "AuthSession",
    "Base",
    "CannedReply",
    "Category",
    "Deflection",
    "GapReport",
    "IncomingMail",
    "IndexOutbox",
    "Notification",
    "Phrasing",
    "Revision",
    "SavedView",
    "SearchLog",
    "Setting",
    "SettingChange",
    "SynonymGroup",
    "Tag",
    "Ticket",
    "TicketEvent",
    "User",
    "metadata",
    "ticket_terms",
]
