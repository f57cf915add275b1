"""Pure translation of Jira shapes into normalized events, shared by webhooks and sync.

Both paths call the same functions here with the same inputs (an issue, a
changelog history, a comment), so a change seen by webhook and again by sync
gets the same event id and is stored once:

* ``issue-<issue id>-created`` / ``issue-<issue id>-deleted``
* ``chg-<changelog id>-<field>`` (one event per relevant changelog item)
* ``comment-<comment id>`` (creation and any later edit share it)

No I/O, no clock: everything comes from the arguments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.core.zones import zone_or_none
from app.tickets.events import AuthorRole, EventType, NormalizedEvent, StatusCategory, TicketSnapshot
from integrations.jira.config import JIRA_CATEGORY_DEFAULTS, JiraConnection

JsonDict = dict[str, Any]

_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_INTERNAL_PROPERTY = "sd.public.comment"
# Changelog field names of the system fields we translate, as canonical ids.
STATUS, PRIORITY, ASSIGNEE, RESOLUTION = "status", "priority", "assignee", "resolution"


def parse_time(value: str | int | float) -> datetime:
    """Read a Jira time: ``2019-08-20T10:12:51.573-0700`` (no colon), ISO with ``Z``/``+hh:mm``, or epoch ms."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _COMPACT_OFFSET.sub(r"\1:\2", text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"Jira time without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def category_for(conn: JiraConnection, status_name: str | None, jira_category: str | None) -> StatusCategory | None:
    """Our category for a status: a per-connection override by name, else Jira's statusCategory key."""
    if status_name:
        wanted = status_name.casefold()
        for name, category in conn.mapping.status_category.items():
            if name.casefold() == wanted:
                return category
    return JIRA_CATEGORY_DEFAULTS.get(jira_category or "")


def map_priority(conn: JiraConnection, name: str | None) -> str | None:
    """Our priority level for a Jira priority name; unmapped names pass through unchanged."""
    if name is None:
        return None
    return conn.mapping.priority.get(name, name)


def person_id(user: Mapping[str, Any] | None) -> str | None:
    """The stable id of a Jira user: Cloud ``accountId``, else the Data Center username."""
    if not user:
        return None
    for attr in ("accountId", "name", "key"):
        value = user.get(attr)
        if value:
            return str(value)
    return None


def _person_ids(user: Mapping[str, Any] | None) -> set[str]:
    if not user:
        return set()
    return {str(user[attr]) for attr in ("accountId", "name", "key") if user.get(attr)}


def field_value(value: Any) -> Any:
    """Reduce a Jira field value to plain data: options to their value, users to their id, lists itemwise."""
    if isinstance(value, list):
        return [field_value(item) for item in value]
    if isinstance(value, dict):
        for attr in ("value", "name", "accountId", "key", "id"):
            if attr in value:
                return value[attr]
    return value


def _tier_candidates(raw: Any) -> list[str]:
    plain = field_value(raw)
    items = plain if isinstance(plain, list) else [plain]
    return [str(item) for item in items if item not in (None, "")]


def tier_from_values(conn: JiraConnection, candidates: Iterable[str]) -> str | None:
    """The first candidate that the tier mapping knows, else the mapping's default."""
    tier = conn.mapping.tier
    if tier is None:
        return None
    for candidate in candidates:
        if candidate in tier.values:
            return tier.values[candidate]
    return tier.default


def tier_of(conn: JiraConnection, fields: Mapping[str, Any]) -> str | None:
    """The tier of an issue, from its mapped field (custom field or JSM organizations)."""
    tier = conn.mapping.tier
    if tier is None:
        return None
    return tier_from_values(conn, _tier_candidates(fields.get(tier.field_id)))


def _tier_from_text(conn: JiraConnection, text: str | None) -> str | None:
    # Changelog strings of multi-value fields look like "[ACME, Globex]".
    if text is None:
        return tier_from_values(conn, [])
    parts = [text.strip()] + [part.strip() for part in text.strip("[]").split(",")]
    return tier_from_values(conn, [part for part in parts if part])


def snapshot(conn: JiraConnection, issue: Mapping[str, Any]) -> TicketSnapshot:
    """The ticket state carried by an issue object (webhook ``issue`` or REST search result)."""
    fields: Mapping[str, Any] = issue.get("fields") or {}
    status = fields.get("status") or {}
    reporter = fields.get("reporter") or {}
    summary = fields.get("summary")
    return TicketSnapshot(
        title=summary[:1000] if isinstance(summary, str) else None,
        status=status.get("name"),
        status_category=category_for(conn, status.get("name"), (status.get("statusCategory") or {}).get("key")),
        priority=map_priority(conn, (fields.get("priority") or {}).get("name")),
        tier=tier_of(conn, fields),
        assignee=person_id(fields.get("assignee")),
        project=(fields.get("project") or {}).get("key"),
        type=(fields.get("issuetype") or {}).get("name"),
        # A reporter's profile zone Python does not know leaves the ticket without one, rather than failing the event.
        timezone=zone_or_none(reporter.get("timeZone")),
        url=f"{conn.base_url.rstrip('/')}/browse/{issue['key']}" if issue.get("key") else None,
        fields={fid: field_value(fields[fid]) for fid in conn.mapping.fields if fid in fields},
    )


def categories_from_issue(issue: Mapping[str, Any]) -> dict[str, str]:
    """Status id -> Jira category key, as far as the issue's current status tells."""
    status = (issue.get("fields") or {}).get("status") or {}
    key = (status.get("statusCategory") or {}).get("key")
    return {str(status["id"]): key} if status.get("id") and key else {}


def created_event(
    conn: JiraConnection, issue: Mapping[str, Any], *, fallback_at: datetime, ticket: TicketSnapshot | None = None
) -> NormalizedEvent:
    """The ``created`` event of an issue, carrying its snapshot as of creation."""
    created = (issue.get("fields") or {}).get("created")
    return NormalizedEvent(
        source=conn.name,
        key=str(issue["key"]),
        id=f"issue-{issue['id']}-created",
        type=EventType.created,
        at=parse_time(created) if created else fallback_at,
        ticket=ticket or snapshot(conn, issue),
    )


def deleted_event(conn: JiraConnection, issue: Mapping[str, Any], *, at: datetime) -> NormalizedEvent:
    """The ``deleted`` event of an issue."""
    return NormalizedEvent(
        source=conn.name, key=str(issue["key"]), id=f"issue-{issue['id']}-deleted", type=EventType.deleted, at=at
    )


def item_field(item: Mapping[str, Any]) -> str:
    """Canonical id of a changelog item's field: ``fieldId``, else the lower-cased system field name."""
    if item.get("fieldId"):
        return str(item["fieldId"])
    name = str(item.get("field") or "")
    return name.lower() if item.get("fieldtype") == "jira" else name


def _watched_field(conn: JiraConnection, item: Mapping[str, Any]) -> str | None:
    """The configured field id a custom changelog item refers to, if we watch it."""
    watched = list(conn.mapping.fields)
    if conn.mapping.tier is not None:
        watched.append(conn.mapping.tier.field_id)
    canonical, name = item_field(item), item.get("field")
    for fid in watched:
        if canonical == fid or (name is not None and conn.mapping.field_names.get(fid) == name):
            return fid
    return None


def _user_ref(item: Mapping[str, Any], side: str, current: Mapping[str, Any] | None) -> str | None:
    # GDPR-era Cloud adds tmp*AccountId beside the legacy username; prefer the accountId.
    tmp = item.get(f"tmp{side.capitalize()}AccountId")
    raw = tmp or item.get(side)
    if raw and current and str(raw) in _person_ids(current):
        return person_id(current)
    return str(raw) if raw else None


def history_events(
    conn: JiraConnection,
    key: str,
    history: Mapping[str, Any],
    *,
    fallback_at: datetime,
    categories: Mapping[str, str],
    current_fields: Mapping[str, Any] | None = None,
) -> list[NormalizedEvent]:
    """Events for the relevant items of one changelog history (one Jira change)."""
    created = history.get("created")
    at = parse_time(created) if created else fallback_at
    events: list[NormalizedEvent] = []
    for item in history.get("items") or []:
        canonical = item_field(item)
        common: dict[str, Any] = {"source": conn.name, "key": key, "id": f"chg-{history['id']}-{canonical}", "at": at}
        if canonical == STATUS:
            to_id = str(item["to"]) if item.get("to") is not None else ""
            events.append(
                NormalizedEvent(
                    **common,
                    type=EventType.status_changed,
                    to=item.get("toString"),
                    to_category=category_for(conn, item.get("toString"), categories.get(to_id)),
                    **{"from": item.get("fromString")},
                )
            )
        elif canonical == PRIORITY and item.get("toString"):
            events.append(
                NormalizedEvent(
                    **common,
                    type=EventType.priority_changed,
                    to=map_priority(conn, item["toString"]),
                    **{"from": map_priority(conn, item.get("fromString"))},
                )
            )
        elif canonical == ASSIGNEE:
            assignee = (current_fields or {}).get("assignee")
            events.append(
                NormalizedEvent(
                    **common,
                    type=EventType.assignee_changed,
                    to=_user_ref(item, "to", assignee),
                    **{"from": _user_ref(item, "from", None)},
                )
            )
        elif canonical == RESOLUTION:
            events.append(
                NormalizedEvent(
                    **common,
                    type=EventType.field_changed,
                    field="resolution",
                    value=item.get("toString"),
                    **{"from": item.get("fromString")},
                )
            )
        else:
            events.extend(_custom_field_event(conn, item, common))
    return events


def _custom_field_event(conn: JiraConnection, item: Mapping[str, Any], common: dict[str, Any]) -> list[NormalizedEvent]:
    fid = _watched_field(conn, item)
    if fid is None:
        return []
    events = []
    if conn.mapping.tier is not None and fid == conn.mapping.tier.field_id:
        events.append(
            NormalizedEvent(
                **{**common, "id": f"{common['id']}-tier"},
                type=EventType.field_changed,
                field="tier",
                value=_tier_from_text(conn, item.get("toString")),
                **{"from": _tier_from_text(conn, item.get("fromString"))},
            )
        )
    if fid in conn.mapping.fields:
        events.append(
            NormalizedEvent(
                **common,
                type=EventType.field_changed,
                field=fid,
                value=item.get("toString"),
                **{"from": item.get("fromString")},
            )
        )
    return events


def is_public(comment: Mapping[str, Any]) -> bool:
    """Whether the customer can see a comment: not JSM-internal and not restricted to a role or group."""
    if comment.get("jsdPublic") is False:
        return False
    for prop in comment.get("properties") or []:
        value = prop.get("value") if isinstance(prop, Mapping) else None
        if prop.get("key") == _INTERNAL_PROPERTY and isinstance(value, Mapping) and value.get("internal") is True:
            return False
    return not comment.get("visibility")


def author_role(
    conn: JiraConnection, author: Mapping[str, Any] | None, reporter: Mapping[str, Any] | None
) -> AuthorRole:
    """Who wrote a comment: ``system`` (apps, listed automation), ``agent`` or ``customer``."""
    ids = _person_ids(author)
    if not author or author.get("accountType") == "app" or ids & set(conn.mapping.system_accounts):
        return AuthorRole.system
    groups = {str(g.get("name")) for g in ((author.get("groups") or {}).get("items") or [])}
    if ids & set(conn.mapping.agents) or groups & set(conn.mapping.agent_groups):
        return AuthorRole.agent
    if author.get("accountType") == "customer" or (ids and ids & _person_ids(reporter)):
        return AuthorRole.customer
    return AuthorRole.agent


def comment_event(
    conn: JiraConnection,
    key: str,
    comment: Mapping[str, Any],
    *,
    reporter: Mapping[str, Any] | None,
    fallback_at: datetime,
) -> NormalizedEvent:
    """The ``comment`` event of a Jira comment, stamped with its creation time."""
    created = comment.get("created")
    author = comment.get("author")
    return NormalizedEvent(
        source=conn.name,
        key=key,
        id=f"comment-{comment['id']}",
        type=EventType.comment,
        at=parse_time(created) if created else fallback_at,
        author=person_id(author),
        author_role=author_role(conn, author, reporter),
        public=is_public(comment),
    )


def rolled_back(
    conn: JiraConnection,
    current: TicketSnapshot,
    first_items: Mapping[str, Mapping[str, Any]],
    categories: Mapping[str, str],
) -> TicketSnapshot:
    """The snapshot as of creation: the current one with each changed field set to its first ``from``."""
    update: dict[str, Any] = {}
    if STATUS in first_items:
        item = first_items[STATUS]
        update["status"] = item.get("fromString")
        update["status_category"] = category_for(conn, item.get("fromString"), categories.get(str(item.get("from"))))
    if PRIORITY in first_items:
        update["priority"] = map_priority(conn, first_items[PRIORITY].get("fromString"))
    if ASSIGNEE in first_items:
        update["assignee"] = _user_ref(first_items[ASSIGNEE], "from", None)
    if conn.mapping.tier is not None and conn.mapping.tier.field_id in first_items:
        update["tier"] = _tier_from_text(conn, first_items[conn.mapping.tier.field_id].get("fromString"))
    return current.model_copy(update=update)


def first_items_key(conn: JiraConnection, item: Mapping[str, Any]) -> str | None:
    """The key :func:`rolled_back` files a changelog item under, if it is a field we roll back."""
    canonical = item_field(item)
    if canonical in (STATUS, PRIORITY, ASSIGNEE):
        return canonical
    tier = conn.mapping.tier
    return tier.field_id if tier is not None and _watched_field(conn, item) == tier.field_id else None
