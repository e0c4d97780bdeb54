"""Request and response schemas of the help-request API."""

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext_lazy
from ninja import Field, Schema

from caregrid.accounts.api import MAX_PAGE, Id, Out, PlaceRefOut, Text

from ..actions import (
    DESCRIPTION_MAX,
    NOTE_MAX,
)
from ..models import Channel
from ..models import Status as CaseStatus

API_CHANNELS = (
    Channel.API,
    Channel.GRID_REPORT,
    Channel.HOTLINE,
    Channel.REFERRAL_12345,
    Channel.WECHAT,
    Channel.WALK_IN,
)
STATUS_FILTERS = ("all", "open", "done", "overdue", "unacknowledged", *CaseStatus.values)
SUMMARY_LENGTH = 120
# The list's filters share names with other routers' fields, so their messages name them here.
_CHOICE_MESSAGES = {
    "status": gettext_lazy("工单状态“%(value)s”无效，可选：%(choices)s"),
    "category": gettext_lazy("诉求类别“%(value)s”无效，可选：%(choices)s"),
    "urgency": gettext_lazy("紧急程度“%(value)s”无效，可选：%(choices)s"),
    "channel": gettext_lazy("来源渠道“%(value)s”无效，可选：%(choices)s"),
}


# ---- schemas -----------------------------------------------------------------------------------


class ClockOut(Out):
    what: str = Field(description="first_contact or resolution: the deadline running now")
    due: dt.datetime
    minutes_left: int = Field(description="negative when overdue")
    overdue: bool


class CaseRefOut(Out):
    id: int
    number: str


class CaseListItemOut(Out):
    id: int
    number: str = Field(description="e.g. 20221215-0042")
    channel: str
    channel_label: str
    category: str
    category_label: str
    urgency: str
    urgency_label: str
    status: str
    status_label: str
    disposition: str = Field(description="answered, coordinated or dispatched once decided; empty before")
    summary: str = Field(description="the start of the description")
    caller_name: str
    caller_phone_masked: str = Field(description="e.g. 138****5678")
    address: str = Field(description="the matched place's address, else the address as given")
    place: PlaceRefOut
    grid_id: int | None
    assigned_place: PlaceRefOut | None = Field(description="where the request was dispatched")
    received_at: dt.datetime
    clock: ClockOut | None = Field(description="the running deadline; null once the request is done")
    escalation_level: int
    duplicate_of: int | None
    version: int


class CasePageOut(Out):
    items: list[CaseListItemOut]
    page: int
    page_size: int
    has_next: bool
    total: int | None = Field(None, description="only with ?count=true")


class FlagOut(Out):
    code: str
    label: str


class SuggestionOut(Out):
    category: str
    urgency: str
    confidence: float | None


class SubcategoryOut(Out):
    code: str
    name: str


class ResidentRefOut(Out):
    id: int
    name: str


class EventOut(Out):
    id: int
    at: dt.datetime
    kind: str
    kind_label: str
    actor: str
    from_status: str
    to_status: str
    note: str
    public: bool = Field(description="shown on the caller's public status page")
    data: dict


class UserRefOut(Out):
    username: str
    full_name: str


class TaskOut(Out):
    id: int
    request: CaseRefOut
    kind: str
    kind_label: str
    detail: str
    assignee: UserRefOut
    status: str
    status_label: str
    due_at: dt.datetime | None
    overdue: bool
    created_at: dt.datetime
    done_at: dt.datetime | None
    result: str


class CaseDetailOut(Out):
    id: int
    number: str
    tracking_code: str = Field(description="the caller's key to the public status page")
    channel: str
    channel_label: str
    external_id: str
    category: str
    category_label: str
    subcategory: SubcategoryOut | None
    urgency: str
    urgency_label: str
    description: str
    suggestion: SuggestionOut = Field(description="what the classifier suggested at intake")
    red_flags: list[FlagOut]
    caller_name: str
    caller_phone_masked: str
    resident: ResidentRefOut | None
    address_text: str = Field(description="the address as the caller gave it")
    place: PlaceRefOut
    address: str
    path_names: list[str] = Field(description="district down to the request's place")
    grid: PlaceRefOut | None
    status: str
    status_label: str
    disposition: str
    assigned_place: PlaceRefOut | None
    received_at: dt.datetime
    acknowledged_at: dt.datetime | None
    first_contact_due: dt.datetime
    resolution_due: dt.datetime
    first_contact_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    clock: ClockOut | None
    outcome: str
    satisfaction: str
    escalation_level: int
    duplicate_of: CaseRefOut | None
    linked: list[CaseRefOut] = Field(description="requests linked to this one as its duplicates")
    events: list[EventOut] = Field(description="the timeline, oldest first")
    tasks: list[TaskOut]
    version: int = Field(description="send it back with every action; a newer version there answers 409")
    updated_at: dt.datetime


class CaseReceiptOut(CaseListItemOut):
    """What intake answers: the request as the queue lists it, with the caller's tracking code, the
    classifier's suggestion and both deadlines. GET /cases/{id} has the timeline."""

    tracking_code: str = Field(description="the caller's key to the public status page")
    external_id: str
    suggestion: SuggestionOut = Field(description="what the classifier suggested")
    red_flags: list[FlagOut]
    first_contact_due: dt.datetime
    resolution_due: dt.datetime


class AddressCandidateOut(Out):
    place_id: int
    label: str
    confidence: float


class AddressOut(Out):
    compound: str | None
    building: str | None
    unit: str | None
    room: str | None
    place_id: int | None = Field(description="the best match, null when the address matches nothing known")
    label: str
    confidence: float
    candidates: list[AddressCandidateOut] = Field(description="up to three places, best first")


class TriageOut(Out):
    category: str
    category_label: str
    urgency: str
    urgency_label: str
    confidence: float
    also: list[str] = Field(description="other categories the text may need too (two needs in one call)")
    red_flags: list[FlagOut]
    address: AddressOut | None = Field(description="null when the text names no address")
    duplicates: list[CaseListItemOut] = Field(
        description="recent requests (48 h) of the same phone or matched household and category"
    )


class CaseQuery(Schema):
    place: Id | None = Field(None, description="a place id: requests in its subtree (a grid: what it covers)")
    status: Text = Field(
        "",
        max_length=20,
        description="a status code, or open, done, overdue (a deadline has passed), unacknowledged, all (default)",
    )
    category: Text = Field("", max_length=20, description="category code, e.g. medicine")
    urgency: Text = Field("", max_length=10, description="urgent, high or normal")
    channel: Text = Field("", max_length=20, description="channel code, e.g. hotline, referral_12345")
    assigned_to: Id | None = Field(None, description="requests dispatched to this place (its queue)")
    since: dt.datetime | None = Field(None, description="received at or after")
    until: dt.datetime | None = Field(None, description="received before")
    q: Text = Field("", max_length=50, description="number, words of the description or address, caller, phone")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=200)
    count: bool = Field(False, description="also count all matches (slower on large areas)")


class TriageQuery(Schema):
    text: Text = Field(min_length=1, max_length=DESCRIPTION_MAX, description="what the caller says")
    phone: Text = Field("", max_length=40, description="the caller's phone, to find recent requests from it")


class CaseIn(Schema):
    description: Text = Field(max_length=DESCRIPTION_MAX)
    category: Text = Field("", max_length=20, description="empty: the classifier's suggestion")
    urgency: Text = Field("", max_length=10, description="empty: the classifier's suggestion (red flags raise it)")
    subcategory: Text = Field("", max_length=40, description="code of one of the bureau's sub-categories")
    caller_name: Text = Field("", max_length=50)
    caller_phone: Text = Field("", max_length=40)
    resident: Id | None = Field(None, description="the resident concerned; the request goes to their household")
    place: Id | None = Field(None, description="the household (or any place) concerned, when known")
    address_text: Text = Field("", max_length=200, description="matched to a household when no place is given")
    channel: Text = Field(
        "",
        max_length=20,
        description="api (default), grid_report (default for grid workers), hotline, referral_12345, wechat, walk_in",
    )
    external_id: Text = Field(
        "", max_length=64, description="the sender's own number; sending it again returns the request already made"
    )
    received_at: dt.datetime | None = Field(None, description="when the request was received (default now)")
    lat: Decimal | None = Field(None, ge=-90, le=90, max_digits=9, decimal_places=6)
    long: Decimal | None = Field(None, ge=-180, le=180, max_digits=9, decimal_places=6)


class VersionIn(Schema):
    version: int = Field(ge=1, le=2**31 - 1, description="the version you read")


class OutcomeIn(VersionIn):
    outcome: Text = Field(max_length=NOTE_MAX)


class NoteIn(VersionIn):
    note: Text = Field(max_length=NOTE_MAX)


class OptionalNoteIn(VersionIn):
    note: Text = Field("", max_length=NOTE_MAX)


class ReasonIn(VersionIn):
    reason: Text = Field(max_length=NOTE_MAX)


class DispatchIn(OptionalNoteIn):
    place: Id = Field(description="a subdistrict, community or grid")


class CloseIn(OptionalNoteIn):
    satisfaction: Text = Field(max_length=16, description="satisfied, basic, unsatisfied or unreachable")


class RetriageIn(VersionIn):
    category: Text = Field("", max_length=20, description="empty: unchanged")
    urgency: Text = Field("", max_length=10, description="empty: unchanged")
    subcategory: Text | None = Field(None, max_length=40, description='a code; "" clears it; null: unchanged')


class PlaceIn(VersionIn):
    place: Id = Field(description="the household (or other place) the request is about")


class LinkIn(VersionIn):
    primary: Id = Field(description="id of the request this one repeats")


class TaskIn(VersionIn):
    kind: Text = Field(max_length=20, description="buy_medicine, deliver_supplies, escort_hospital, …")
    assignee: Text = Field(max_length=150, description="username of the person who runs the errand")
    detail: Text = Field("", max_length=300)
    due_at: dt.datetime | None = Field(None, description="default: the request's resolution deadline")


class TaskDoneIn(Schema):
    result: Text = Field("", max_length=300)


class TaskQuery(Schema):
    mine: bool = Field(False, description="only errands assigned to me (else: errands of requests in my scope)")
    status: Text = Field("open", max_length=12, description="open, done, cancelled or all")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=200)


class TaskPageOut(Out):
    items: list[TaskOut]
    page: int
    page_size: int
    has_next: bool
