"""What each role may do. Scope (where) is handled by accounts.scope; this is only the what."""

from .models import Role


class Cap:
    VIEW_PLACES = "view_places"
    VIEW_RESIDENTS = "view_residents"
    EDIT_RESIDENTS = "edit_residents"
    UNMASK = "unmask"
    IMPORT = "import"
    EXPORT = "export"
    SET_ZONE = "set_zone"
    SET_MODE = "set_mode"
    MANAGE_CATEGORIES = "manage_categories"
    MANAGE_USERS = "manage_users"
    VIEW_AUDIT = "view_audit"
    VIEW_CASES = "view_cases"  # see help requests in scope
    TAKE_CASES = "take_cases"  # log a new request
    HANDLE_CASES = "handle_cases"  # acknowledge, contact, record progress, resolve, errands
    DISPATCH_CASES = "dispatch_cases"  # answer on the spot, coordinate, dispatch, close, cancel, reopen
    MANAGE_CASE_SETTINGS = "manage_case_settings"  # deadlines, sub-categories, Open311 keys
    VIEW_CARE = "view_care"  # care teams, contacts and coverage in scope
    LOG_CONTACTS = "log_contacts"  # record a contact with a resident
    ASSIGN_CARERS = "assign_carers"  # assign, hand over and end care assignments
    MANAGE_CARE_POLICIES = "manage_care_policies"  # cadence rules
    MANAGE_ROUNDS = "manage_rounds"  # open, change and close door-knocking and testing rounds
    LOG_ROUND_WORK = "log_round_work"  # record door visits, samplings and outreach steps


_STAFF = {
    Cap.VIEW_PLACES,
    Cap.VIEW_RESIDENTS,
    Cap.EDIT_RESIDENTS,
    Cap.UNMASK,
    Cap.IMPORT,
    Cap.EXPORT,
    Cap.SET_ZONE,
    Cap.VIEW_CASES,
    Cap.TAKE_CASES,
    Cap.HANDLE_CASES,
    Cap.DISPATCH_CASES,
    Cap.VIEW_CARE,
    Cap.LOG_CONTACTS,
    Cap.ASSIGN_CARERS,
    Cap.MANAGE_ROUNDS,
    Cap.LOG_ROUND_WORK,
}

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.DISTRICT_ADMIN: frozenset(
        _STAFF
        | {
            Cap.SET_MODE,
            Cap.MANAGE_CATEGORIES,
            Cap.MANAGE_USERS,
            Cap.VIEW_AUDIT,
            Cap.MANAGE_CASE_SETTINGS,
            Cap.MANAGE_CARE_POLICIES,
        }
    ),
    Role.SUBDISTRICT_STAFF: frozenset(_STAFF),
    Role.COMMUNITY_STAFF: frozenset(_STAFF),
    Role.GRID_WORKER: frozenset(
        {Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.EDIT_RESIDENTS, Cap.UNMASK, Cap.VIEW_CASES, Cap.TAKE_CASES}
        | {Cap.HANDLE_CASES, Cap.VIEW_CARE, Cap.LOG_CONTACTS, Cap.LOG_ROUND_WORK}
    ),
    Role.HOTLINE_OPERATOR: frozenset(
        {Cap.VIEW_PLACES, Cap.VIEW_RESIDENTS, Cap.UNMASK, Cap.VIEW_CASES, Cap.TAKE_CASES, Cap.HANDLE_CASES}
        | {Cap.DISPATCH_CASES}
    ),
    Role.VOLUNTEER_COORDINATOR: frozenset({Cap.VIEW_PLACES}),
    Role.AUDITOR: frozenset({Cap.VIEW_PLACES, Cap.VIEW_AUDIT}),
}


def role_has(role: str, capability: str) -> bool:
    return capability in CAPABILITIES.get(role, frozenset())
