"""All models, importable from one place (Alembic and the services use this)."""

from . import (
    case_keys,  # noqa: F401 (creates the case's reference triggers with the tables)
    copies,  # noqa: F401 (creates the copy triggers with the tables)
    group_cascade,  # noqa: F401 (creates the delete triggers with the tables)
)
from .case import (
    KIND_LABELS,
    OPEN_STATUSES,
    STATUS_LABELS,
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    CaseViewer,
)
from .company import TEMPLATE_KIND_LABELS, Company
from .customer import CHANNELS, DNC_REASONS, Customer, DoNotContact
from .group import (
    CONTACT_SOURCE,
    MEMBER_SOURCE_LABELS,
    SUBSCRIPTION_STATUS_LABELS,
    ContactGroup,
    GroupMember,
    GroupMemberChange,
    Newsletter,
    NewsletterSubscription,
    SignupAttempt,
)
from .message import (
    CHANNEL_LABELS,
    MESSAGE_STATE_LABELS,
    MESSAGE_STATES,
    PURPOSE_LABELS,
    Channel,
    Message,
    MessagePurpose,
    MessageState,
    WebhookEvent,
    WebhookPost,
)
from .order import ORDER_STATES, Order, OrderLine, Product, ProductGroup
from .order_facts import CompanyOrderFact, CustomerOrderFact, LineOrderFact, OrderFactStamp
from .reconnect import (
    ReconnectContact,
    ReconnectExclusion,
    ReconnectResult,
    ReconnectResultMonth,
    ReconnectSettings,
    ReconnectTally,
    ReminderResult,
)
from .reorder import ReminderMode, ReorderDue, ReorderReminder, ReorderSettings
from .serial import (
    SALUTATION_MODE_LABELS,
    SERIAL_STATE_LABELS,
    SalutationMode,
    SerialMessage,
    SerialState,
    SerialTarget,
)
from .system import (
    JOB_LABELS,
    ConnectorConfig,
    JobRun,
    JobState,
    SavedMapping,
    SendPace,
    Setting,
    SyncCursor,
    SyncRun,
)
from .tally import CaseTally
from .types import business_tz, utcnow
from .user import ROLES, FailedLogin, User

__all__ = [
    "CONTACT_SOURCE",
    "CHANNEL_LABELS",
    "JOB_LABELS",
    "MESSAGE_STATE_LABELS",
    "PURPOSE_LABELS",
    "TEMPLATE_KIND_LABELS",
    "Channel",
    "JobState",
    "ReminderMode",
    "ReorderDue",
    "ReorderReminder",
    "ReorderSettings",
    "MessagePurpose",
    "MessageState",
    "CHANNELS",
    "MEMBER_SOURCE_LABELS",
    "SUBSCRIPTION_STATUS_LABELS",
    "ContactGroup",
    "GroupMember",
    "GroupMemberChange",
    "Newsletter",
    "NewsletterSubscription",
    "SignupAttempt",
    "SALUTATION_MODE_LABELS",
    "SERIAL_STATE_LABELS",
    "SalutationMode",
    "SerialMessage",
    "SerialState",
    "SerialTarget",
    "DNC_REASONS",
    "KIND_LABELS",
    "MESSAGE_STATES",
    "OPEN_STATUSES",
    "ORDER_STATES",
    "ROLES",
    "STATUS_LABELS",
    "Case",
    "CaseEvent",
    "FailedLogin",
    "CaseKind",
    "CaseStatus",
    "CaseViewer",
    "CaseTally",
    "Company",
    "CompanyOrderFact",
    "ConnectorConfig",
    "CustomerOrderFact",
    "Customer",
    "DoNotContact",
    "JobRun",
    "Message",
    "LineOrderFact",
    "Order",
    "OrderFactStamp",
    "OrderLine",
    "Product",
    "ProductGroup",
    "ReconnectContact",
    "ReconnectExclusion",
    "ReconnectResult",
    "ReconnectResultMonth",
    "ReconnectSettings",
    "ReconnectTally",
    "ReminderResult",
    "SavedMapping",
    "SendPace",
    "Setting",
    "SyncCursor",
    "SyncRun",
    "User",
    "WebhookEvent",
    "WebhookPost",
    "business_tz",
    "utcnow",
]
