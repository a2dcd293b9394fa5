"""A record of something that happened cannot be dated after now (hazard API1).

FHIR R4 allows dates up to 9999-12-31, so the profile checks let a reading dated 9999 (a typing
slip, a device whose clock is wrong) through; stored, it stood as the patient's latest reading
and made its assessment "not due" with no next time until a later one was recorded. A reading
(Observation `effective[x]`, `issued`) or a completed form (QuestionnaireResponse `authored`)
dated more than `future_tolerance_minutes` after the server's clock is therefore refused, naming
the element. The tolerance allows for clocks that differ a little; a device an hour ahead (a
summer-time offset written as UTC) is refused, so the interface fault shows at once rather than
as obs that seem done an hour early.
"""

from __future__ import annotations

from typing import Any, Final

from wardcare.errors import Category, Issue, WardCareError
from wardcare.fhir.dates import from_micros, start_micros, to_micros
from wardcare.services.context import AppContext

# When the event happened, per type: element paths (one level of nesting at most).
EVENT_TIMES: Final = {
    "Observation": ("effectiveDateTime", "effectiveInstant", "effectivePeriod.start", "issued"),
    "QuestionnaireResponse": ("authored",),
}


def future_times(resource: dict[str, Any], *, now: int, tolerance_minutes: int) -> list[Issue]:
    """An issue for each event time of `resource` later than `now` (microseconds) by more
    than the tolerance; none for other types, for a record being marked entered-in-error, or
    for times that are not dates at all (the profile checks report those)."""
    latest = now + tolerance_minutes * 60_000_000
    resource_type = resource.get("resourceType")
    if resource.get("status") == "entered-in-error":
        return []  # withdrawing a mistaken record must stay possible, whatever its date
    issues = []
    for path in EVENT_TIMES.get(str(resource_type), ()):
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        start = start_micros(value)
        if start is not None and start > latest:
            issues.append(
                Issue(
                    f"{resource_type}.{path} {value} is after now "
                    f"({from_micros(now):%Y-%m-%dT%H:%MZ}, allowing {tolerance_minutes} min "
                    "for clocks that differ): a record of something that happened cannot be "
                    "dated in the future; check the date, or the sending device's clock",
                    (f"{resource_type}.{path}",),
                    "value",
                )
            )
    return issues


def check_recorded_times(ctx: AppContext, resource: Any) -> None:
    """422 if `resource` records an event dated in the future (see the module)."""
    if not isinstance(resource, dict) or resource.get("resourceType") not in EVENT_TIMES:
        return
    issues = future_times(
        resource,
        now=to_micros(ctx.clock.now()),
        tolerance_minutes=ctx.settings.future_tolerance_minutes,
    )
    if issues:
        raise WardCareError(Category.UNPROCESSABLE, issues)
