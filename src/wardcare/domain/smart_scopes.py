"""SMART on FHIR clinical scopes (SMART App Launch 2.0.0, section "Scopes for requesting clinical
data"), parsed once and asked "may this actor do interaction X on type T, and how far?".

- v2 syntax: `<context>/<type>.<permissions>`, context `patient` | `user` | `system`, type a
  resource type or `*`, permissions a subset of `cruds` written in that order.
- v1 syntax is mapped (SMART 2.0.0 "Scopes for requesting clinical data", v1 compatibility):
  `.read` -> `rs`, `.write` -> `cud`, `.*` -> `cruds`.
- A scope with a `?` query (e.g. `patient/Observation.rs?category=vital-signs`) grants nothing:
  WardCare does not support finer-grained scopes and refuses them rather than over-granting.
- `patient/` scopes grant only with a patient in context, and only that patient's compartment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class Interaction(StrEnum):
    """The five SMART v2 permissions; every FHIR interaction is one of them."""

    CREATE = "c"
    READ = "r"  # read, vread, instance history
    UPDATE = "u"
    DELETE = "d"
    SEARCH = "s"  # search, type and system history


class Reach(StrEnum):
    """How far a grant reaches: every record, or one patient's compartment."""

    ALL = "all"
    COMPARTMENT = "compartment"


_V2 = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.(c?r?u?d?s?)$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_V1_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.(read|write|\*)$")


@dataclass(frozen=True)
class ClinicalScope:
    context: str  # patient | user | system
    resource_type: str  # a type or "*"
    permissions: frozenset[str]


def parse_scope(scope: str) -> ClinicalScope | None:
    """One scope string, or None when it is not a clinical scope WardCare grants on."""
    if "?" in scope:
        return None
    match = _V2.match(scope)
    if match and match.group(3):
        return ClinicalScope(match.group(1), match.group(2), frozenset(match.group(3)))
    v1 = _V1_SCOPE.match(scope)
    if v1:
        return ClinicalScope(v1.group(1), v1.group(2), frozenset(_V1[v1.group(3)]))
    return None


@lru_cache(maxsize=1024)
def _parsed(scopes: frozenset[str]) -> tuple[ClinicalScope, ...]:
    return tuple(p for p in (parse_scope(s) for s in scopes) if p is not None)


def reach(
    scopes: frozenset[str], interaction: Interaction, resource_type: str, *, has_patient: bool
) -> Reach | None:
    """The widest reach the scopes grant for this interaction on this type; None for none."""
    best: Reach | None = None
    for scope in _parsed(scopes):
        if interaction.value not in scope.permissions:
            continue
        if scope.resource_type not in ("*", resource_type):
            continue
        if scope.context == "patient":
            if has_patient:
                best = best or Reach.COMPARTMENT
        else:
            return Reach.ALL
    return best
