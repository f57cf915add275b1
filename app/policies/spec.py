"""The policy document as typed models, and ``parse_policy`` that refuses bad ones field by field."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.core.db import JSON_INT_MAX, JSON_INT_MIN
from app.core.durations import MAX_SECONDS
from app.core.errors import FieldError, ValidationProblem
from app.policies.conditions import (
    BUILTIN_METRICS,
    METRIC_NAMES,
    AnyOf,
    AnyValueOf,
    Duration,
    EscalationLevel,
    LevelKind,
    MetricSpec,
    WarnLevel,
)

BUILTIN_CALENDAR = "24x7"
_NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"


class MatchSpec(BaseModel):
    """Which tickets something applies to; every key is optional, a list means any of, all keys must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: AnyOf = Field(default_factory=list)
    project: AnyOf = Field(default_factory=list)
    type: AnyOf = Field(default_factory=list)
    tier: AnyOf = Field(default_factory=list)
    priority: AnyOf = Field(default_factory=list)
    fields: dict[str, AnyValueOf] = Field(default_factory=dict)


class TargetSpec(BaseModel):
    """One metric's goal in one target row: ``target``, optional later ``limit``, warning, calendar."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Duration = Field(gt=0)
    limit: Duration | None = Field(default=None, gt=0)
    warn: WarnLevel | None = None
    calendar: str | None = None
    timezone: Literal["ticket"] | None = None

    @property
    def limit_seconds(self) -> int:
        """The breach point: ``limit`` when given, else the target itself."""
        return self.target if self.limit is None else self.limit


class TargetRow(BaseModel):
    """A row of the tier x priority matrix; unset ``tier``/``priority`` match anything."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: AnyOf = Field(default_factory=list)
    priority: AnyOf = Field(default_factory=list)
    first_response: TargetSpec | None = None
    resolution: TargetSpec | None = None
    next_response: TargetSpec | None = None

    def metric(self, name: str) -> TargetSpec | None:
        """This row's target for metric ``name``, if it sets one."""
        value = getattr(self, name, None) if name in METRIC_NAMES else None
        return value if isinstance(value, TargetSpec) else None

    def metric_names(self) -> list[str]:
        """The metrics this row sets a target for."""
        return [name for name in METRIC_NAMES if self.metric(name) is not None]


class MetricsSection(BaseModel):
    """Conditions of the three built-in metrics, each filled in from ``BUILTIN_METRICS`` where left out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_response: MetricSpec
    resolution: MetricSpec
    next_response: MetricSpec

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            return data
        merged: dict[str, Any] = dict(data)
        for name, defaults in BUILTIN_METRICS.items():
            given = data.get(name) or {}
            merged[name] = {**defaults, **given} if isinstance(given, Mapping) else given
        return merged

    def get(self, name: str) -> MetricSpec:
        """The spec of metric ``name``."""
        spec: MetricSpec = getattr(self, name)
        return spec


class EscalationAction(BaseModel):
    """Exactly one of ``webhook``, ``comment`` (with optional ``public``), ``assign``, ``priority``, ``labels``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = Field(default=None, min_length=1, max_length=10_000)
    public: bool | None = None
    assign: str | None = Field(default=None, min_length=1, max_length=300)
    priority: str | None = Field(default=None, min_length=1, max_length=100)
    labels: list[str] | None = Field(default=None, min_length=1)

    @property
    def kind(self) -> str:
        """Which action this is: ``webhook``, ``comment``, ``assign``, ``priority`` or ``labels``."""
        return next(k for k in ("webhook", "comment", "assign", "priority", "labels") if getattr(self, k) is not None)

    @model_validator(mode="after")
    def _exactly_one(self) -> EscalationAction:
        chosen = [k for k in ("webhook", "comment", "assign", "priority", "labels") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("an action is exactly one of webhook, comment, assign, priority (raise or a name), labels")
        if self.public is not None and chosen != ["comment"]:
            raise ValueError("public only goes with comment")
        return self


class EscalationSpec(BaseModel):
    """A level on a metric's clock (``75%``, ``30m before``, ``breach``, ``2h after``) and what to do there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Literal["first_response", "resolution", "next_response", "any"]
    at: EscalationLevel
    clock: Literal["business", "wall"] = "business"
    tier: AnyOf = Field(default_factory=list)
    priority: AnyOf = Field(default_factory=list)
    actions: list[EscalationAction] = Field(min_length=1)


class PolicySpec(BaseModel):
    """A whole policy document: matching, calendar, metric rules, targets, escalations."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["policy"] = "policy"
    name: str = Field(min_length=1, max_length=100, pattern=_NAME_PATTERN)
    description: str | None = Field(default=None, max_length=2000)
    order: int = Field(default=100, ge=JSON_INT_MIN, le=JSON_INT_MAX)
    match: MatchSpec = Field(default_factory=MatchSpec)
    calendar: str = BUILTIN_CALENDAR
    metrics: MetricsSection = Field(default_factory=lambda: MetricsSection.model_validate({}))
    targets: list[TargetRow] = Field(min_length=1)
    escalations: list[EscalationSpec] = Field(default_factory=list)

    def tracked_metrics(self) -> list[str]:
        """Metrics some target row sets a goal for, in the built-in order; only these get clocks."""
        used = {name for row in self.targets for name in row.metric_names()}
        return [name for name in METRIC_NAMES if name in used]

    def calendar_for(self, target: TargetSpec) -> str:
        """The calendar a target counts on: its own, else the policy's."""
        return target.calendar or self.calendar


def parse_policy(doc: Mapping[str, Any], known_calendars: Collection[str]) -> PolicySpec:
    """Validate a policy document; ``ValidationProblem`` with one ``FieldError`` per problem otherwise."""
    try:
        spec = PolicySpec.model_validate(doc)
    except ValidationError as exc:
        raise ValidationProblem("invalid policy", [_field_error(e) for e in exc.errors()]) from None
    problems = _rule_problems(spec, {*known_calendars, BUILTIN_CALENDAR})
    if problems:
        raise ValidationProblem(f"invalid policy {spec.name!r}", problems)
    return spec


def policy_fingerprint(spec: PolicySpec) -> str:
    """A SHA-256 of the policy's canonical JSON: equal for documents that mean the same."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def _field_error(error: Any) -> FieldError:
    loc = tuple(error["loc"])
    reason = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        in_metric_slot = (len(loc) == 3 and loc[0] == "targets") or (len(loc) == 2 and loc[0] == "metrics")
        reason = f"unknown metric; use one of {', '.join(METRIC_NAMES)}" if in_metric_slot else "unknown field"
    elif error["type"] == "literal_error" and loc[-1] == "metric":
        reason = f"unknown metric; use one of {', '.join(METRIC_NAMES)} or any"
    return FieldError(_path(loc), reason)


def _rule_problems(spec: PolicySpec, calendars: set[str]) -> list[FieldError]:
    problems: list[FieldError] = []
    if spec.calendar not in calendars:
        problems.append(FieldError("calendar", f"unknown calendar {spec.calendar!r}"))
    for index, row in enumerate(spec.targets):
        path = f"targets[{index}]"
        if not row.metric_names():
            problems.append(FieldError(path, f"sets no target; give at least one of {', '.join(METRIC_NAMES)}"))
        for name in row.metric_names():
            problems.extend(_target_problems(row.metric(name), f"{path}.{name}", calendars))
            shadow = _shadowing_row(spec.targets, index, name)
            if shadow is not None:
                problems.append(
                    FieldError(f"{path}.{name}", f"unreachable: targets[{shadow}] already matches all its tickets")
                )
    tracked = spec.tracked_metrics()
    for index, escalation in enumerate(spec.escalations):
        if escalation.metric != "any" and escalation.metric not in tracked:
            problems.append(FieldError(f"escalations[{index}].metric", "no target row sets this metric"))
        elif _level_past_horizon(spec, escalation):
            problems.append(
                FieldError(f"escalations[{index}].at", "lies more than a century of business time past the start")
            )
    return problems


def _level_past_horizon(spec: PolicySpec, escalation: EscalationSpec) -> bool:
    """Whether the level lies, for some target it applies to, past the span durations may cover."""
    metrics = spec.tracked_metrics() if escalation.metric == "any" else [escalation.metric]
    limits = [t.limit_seconds for row in spec.targets for m in metrics if (t := row.metric(m)) is not None]
    level = escalation.at
    if level.kind is LevelKind.percent:
        # In floats: a percentage such as 10**400 % is infinite, and the engine's integers would overflow.
        return any(limit * (level.percent or 0) / 100 > MAX_SECONDS for limit in limits)
    return any(level.elapsed_for(limit) > MAX_SECONDS for limit in limits)


def _target_problems(target: TargetSpec | None, path: str, calendars: set[str]) -> list[FieldError]:
    problems: list[FieldError] = []
    if target is None:
        return problems
    limit = target.limit_seconds
    if target.limit is not None and target.limit < target.target:
        problems.append(FieldError(f"{path}.limit", "limit is shorter than target"))
    warn = target.warn
    if warn is not None and warn.kind is LevelKind.percent and (warn.percent or 0) >= 100:
        problems.append(FieldError(f"{path}.warn", "a warning percentage must be below 100%"))
    if warn is not None and warn.kind is LevelKind.before and (warn.seconds or 0) >= limit:
        problems.append(FieldError(f"{path}.warn", "time remaining must be shorter than the limit"))
    if target.calendar is not None and target.calendar not in calendars:
        problems.append(FieldError(f"{path}.calendar", f"unknown calendar {target.calendar!r}"))
    return problems


def _shadowing_row(rows: list[TargetRow], index: int, metric: str) -> int | None:
    """The earlier row that sets ``metric`` and matches every ticket row ``index`` matches, if any."""
    row = rows[index]
    for earlier_index, earlier in enumerate(rows[:index]):
        if earlier.metric(metric) is None:
            continue
        if _covers(earlier.tier, row.tier) and _covers(earlier.priority, row.priority):
            return earlier_index
    return None


def _covers(earlier: list[str], later: list[str]) -> bool:
    # An empty list matches anything, so it covers everything; a listed set only covers a non-empty subset.
    if not earlier:
        return True
    return bool(later) and {v.casefold() for v in later} <= {v.casefold() for v in earlier}
