"""The vocabulary policies are written in: durations, levels, triggers, pause conditions, metric rules.

Triggers name *moments* (an event, or the ticket entering a state); they start,
stop and reset clocks:

=========================  ===================================================
``created``                the ticket was created
``agent_public_comment``   an agent commented with ``public: true`` (internal
                           notes and comments without the flag do not count)
``agent_comment``          an agent commented, public or internal
``customer_comment``       the customer commented
``resolved``               the status category entered ``resolved`` or
                           ``closed`` from an active one (closing implies
                           resolving, so ``stop: [resolved]`` also stops on a
                           ticket closed directly)
``closed``                 the status category entered ``closed``
``reopened``               the status category left ``resolved``/``closed``
                           for an active one
``assigned``               the assignee became set or changed to someone else
``status:<name>``          the status entered ``<name>`` (case-insensitive)
``status_category:<cat>``  the status category entered ``<cat>``
=========================  ===================================================

``pause_when`` names *states* instead: while the ticket's status, status
category or a field holds one of the listed values, the clock is paused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
)

from app.core.durations import format_duration, parse_duration
from app.tickets.events import StatusCategory

METRIC_NAMES: tuple[str, ...] = ("first_response", "resolution", "next_response")

SIMPLE_TRIGGERS = frozenset(
    {
        "created",
        "agent_public_comment",
        "agent_comment",
        "customer_comment",
        "resolved",
        "closed",
        "reopened",
        "assigned",
    }
)
# Triggers that mean "the work is done": a clock stopped by one of them is what
# ``on_reopen`` brings back.
DONE_TRIGGERS = frozenset({"resolved", "closed", "status_category:resolved", "status_category:closed"})
_PARAMETRISED = ("status:", "status_category:")


def listify(value: Any) -> Any:
    """A scalar becomes a one-item list, so ``tier: gold`` and ``tier: [gold]`` mean the same."""
    if value is None:
        return []
    return value if isinstance(value, list | tuple) else [value]


def _duration(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("must be a duration string such as 90m, 2h30m or 40h (the unit is never guessed)")
    return parse_duration(value)


# Seconds inside, the canonical short form outside: "90m" and "1h30m" dump (and
# fingerprint) identically, and a dumped spec parses back.
Duration = Annotated[int, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]


def option_value(value: Any) -> Any:
    """A Jira option object (``{"value": "Gold"}``, as a select field holds one) reduced to its value."""
    return value["value"] if isinstance(value, dict) and "value" in value else value


def _field_values(value: Any) -> list[Any]:
    values = [option_value(item) for item in listify(value)]
    if any(isinstance(item, dict | list | tuple) for item in values):
        raise ValueError("a field value is text, a number, a boolean or a Jira option such as {value: Gold}")
    return values


AnyOf = Annotated[list[str], BeforeValidator(listify)]
# Field values a ticket's ``fields`` map is compared with: scalars, options reduced to their value.
AnyValueOf = Annotated[list[Any], BeforeValidator(_field_values)]


class LevelKind(StrEnum):
    percent = "percent"
    before = "before"
    breach = "breach"
    after = "after"


_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True)
class Level:
    """A point on a clock's life, relative to its limit: ``80%``, ``30m before``, ``breach``, ``2h after``."""

    kind: LevelKind
    percent: float | None = None
    seconds: int | None = None

    def elapsed_for(self, limit_seconds: int) -> int:
        """The elapsed business seconds at which a clock with this limit reaches the level."""
        if self.kind is LevelKind.percent:
            return int(limit_seconds * (self.percent or 0) // 100)
        if self.kind is LevelKind.before:
            return limit_seconds - (self.seconds or 0)
        if self.kind is LevelKind.after:
            return limit_seconds + (self.seconds or 0)
        return limit_seconds

    def __str__(self) -> str:
        if self.kind is LevelKind.percent:
            return f"{self.percent:g}%"
        if self.kind is LevelKind.breach:
            return "breach"
        return f"{format_duration(self.seconds or 0)} {self.kind.value}"

    @classmethod
    def parse(cls, text: str, *, bare_duration_means: LevelKind | None = None) -> Level:
        """Read ``N%``, ``<dur> before``, ``breach`` or ``<dur> after`` (``ValueError`` naming the forms)."""
        forms = "N%, '<duration> before', breach or '<duration> after'"
        if not isinstance(text, str):
            raise ValueError(f"must be one of {forms}")
        if match := _PERCENT.match(text):
            percent = float(match.group(1))
            if percent <= 0:
                raise ValueError("a percentage must be above 0%")
            return cls(LevelKind.percent, percent=percent)
        words = text.strip().lower().split()
        if words == ["breach"]:
            return cls(LevelKind.breach)
        if len(words) == 2 and words[1] in ("before", "after"):
            return cls(LevelKind(words[1]), seconds=parse_duration(words[0]))
        if len(words) == 1 and bare_duration_means is not None:
            return cls(bare_duration_means, seconds=parse_duration(words[0]))
        raise ValueError(f"{text!r} is not one of {forms}")


def _escalation_level(value: Any) -> Level:
    return value if isinstance(value, Level) else Level.parse(value)


def _warn_level(value: Any) -> Level:
    if isinstance(value, Level):
        return value
    level = Level.parse(value, bare_duration_means=LevelKind.before)
    if level.kind not in (LevelKind.percent, LevelKind.before):
        raise ValueError("a warning is a percentage of the limit (80%) or time remaining (30m)")
    return level


EscalationLevel = Annotated[Level, BeforeValidator(_escalation_level), PlainSerializer(str, return_type=str)]
# A warning's bare duration is time remaining: "30m" means "30m before".
WarnLevel = Annotated[
    Level,
    BeforeValidator(_warn_level),
    PlainSerializer(lambda level: str(level).removesuffix(" before"), return_type=str),
]


def check_trigger(value: str) -> str:
    """``value`` if it is in the trigger vocabulary; ``ValueError`` listing the vocabulary otherwise."""
    if value in SIMPLE_TRIGGERS:
        return value
    prefix, _, argument = value.partition(":")
    if prefix == "status" and argument.strip():
        return value
    if prefix == "status_category" and argument in StatusCategory.__members__:
        return value
    if prefix == "status_category":
        raise ValueError(f"unknown status category {argument!r}; use one of {', '.join(StatusCategory)}")
    known = ", ".join(sorted(SIMPLE_TRIGGERS))
    raise ValueError(f"unknown trigger {value!r}; use one of {known}, status:<name>, status_category:<category>")


def trigger_key(trigger: str) -> str:
    """The comparison form of a trigger: status names are case-insensitive."""
    prefix, sep, argument = trigger.partition(":")
    return f"status:{argument.strip().casefold()}" if prefix == "status" and sep else trigger


Trigger = Annotated[str, BeforeValidator(lambda v: check_trigger(v) if isinstance(v, str) else v)]
Triggers = Annotated[list[Trigger], BeforeValidator(listify)]


class PauseWhen(BaseModel):
    """States that pause a clock: any listed status, status category or field value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: AnyOf = Field(default_factory=list)
    status_category: Annotated[list[StatusCategory], BeforeValidator(listify)] = Field(default_factory=list)
    fields: dict[str, AnyValueOf] = Field(default_factory=dict)


class MetricSpec(BaseModel):
    """When one metric's clock starts, stops, pauses, resets, and what reopening or re-prioritising does."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Triggers = Field(min_length=1)
    stop: Triggers = Field(min_length=1)
    pause_when: PauseWhen = Field(default_factory=PauseWhen)
    reset: Triggers = Field(default_factory=list)
    on_reopen: Literal["resume", "new_cycle"] = "resume"
    # Also governs a tier change: both swap the target row the same way.
    on_priority_change: Literal["keep", "restart"] = "keep"

    @field_validator("start", "stop", "reset")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        keys = [trigger_key(t) for t in value]
        if len(set(keys)) != len(keys):
            raise ValueError("lists a trigger twice")
        return value


# What a policy gets for a metric it does not configure, and for each condition
# it leaves out. Every metric also stops on resolving, so a ticket closed without
# a reply does not leave a response clock running forever; reopening brings it back.
BUILTIN_METRICS: dict[str, dict[str, Any]] = {
    "first_response": {"start": ["created"], "stop": ["agent_public_comment", "resolved"]},
    "resolution": {"start": ["created"], "stop": ["resolved"], "pause_when": {"status_category": ["waiting"]}},
    "next_response": {"start": ["customer_comment"], "stop": ["agent_public_comment", "resolved"]},
}
