"""When a result needs a new escalation Task: decided by the risk band, not the priority alone.

RCP NEWS2 chart 4 gives each band its own clinical response: a single parameter scoring 3
(low-medium) asks for an urgent ward-based response, a total of 5-6 (medium) for urgent
assessment by a clinician with acute-care competencies, 7 or more (high) for an emergency
response. Low-medium and medium share the FHIR Task priority `urgent`, so "a Task of at least
the same priority is open" would leave a patient who rose from a single 3 to a 5 with only the
first, lesser response asked for. The level of an escalation is therefore its priority and then
its band's rank; a new Task is raised unless one at least as high is open. A later, lower score
never closes or replaces an open Task (hazard H06): only a person does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

# FHIR R4 Task.priority (request-priority), lowest first.
PRIORITY_RANK: Final = {"routine": 0, "urgent": 1, "asap": 2, "stat": 3}
# Priorities that need someone to act now (routine asks the registered nurse to assess).
ESCALATING: Final = frozenset({"urgent", "asap", "stat"})
# The rank of an open Task whose band cannot be read (written before bands were recorded):
# below every band of its priority, so a result in any band of that priority still escalates.
UNKNOWN_BAND: Final = -1


@dataclass(frozen=True, order=True)
class EscalationLevel:
    priority_rank: int
    band_rank: int

    @classmethod
    def of(cls, priority: str | None, band_rank: int | None) -> EscalationLevel:
        return cls(
            PRIORITY_RANK.get(priority or "routine", 0),
            UNKNOWN_BAND if band_rank is None else band_rank,
        )


def needs_new_task(new: EscalationLevel, open_levels: Iterable[EscalationLevel]) -> bool:
    """True unless an open escalation is at least as high (same priority and band or above)."""
    return not any(level >= new for level in open_levels)
