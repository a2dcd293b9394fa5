"""One error hierarchy for the whole application.

Errors are data with a category (after Blaze): the service layer raises them without knowing
whether the caller is HTTP or MLLP. `wardcare.fhir.outcomes` maps a category to an HTTP status and
an OperationOutcome; the HL7 v2 adapter maps it to an AE/AR acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Category(StrEnum):
    INVALID = "invalid"  # the request itself is malformed (bad JSON, bad search syntax)
    UNPROCESSABLE = "unprocessable"  # well formed, but breaks a business or profile rule
    NOT_FOUND = "not-found"
    GONE = "gone"  # logically deleted: history remains
    CONFLICT = "conflict"  # e.g. a duplicate that must be unique
    PRECONDITION_FAILED = "precondition-failed"  # stale If-Match
    NOT_SUPPORTED = "not-supported"  # an interaction, type or parameter this server does not offer
    NOT_ALLOWED = (
        "not-allowed"  # an interaction the resource type refuses (e.g. editing Provenance)
    )
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    STORAGE = "storage"  # the database failed: nothing was applied


@dataclass(frozen=True)
class Issue:
    """One problem, with the FHIRPath of the offending element where there is one."""

    message: str
    expression: tuple[str, ...] = ()
    # FHIR IssueType (http://hl7.org/fhir/issue-type); the category's default when empty.
    code: str = ""


@dataclass
class WardCareError(Exception):
    category: Category
    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "; ".join(i.message for i in self.issues) or self.category.value


def error(category: Category, message: str, *expression: str, code: str = "") -> WardCareError:
    return WardCareError(category, [Issue(message, tuple(expression), code)])


def invalid(message: str, *expression: str, code: str = "") -> WardCareError:
    return error(Category.INVALID, message, *expression, code=code)


def unprocessable(message: str, *expression: str, code: str = "") -> WardCareError:
    return error(Category.UNPROCESSABLE, message, *expression, code=code)


def not_found(message: str) -> WardCareError:
    return error(Category.NOT_FOUND, message)


def not_supported(message: str, *expression: str) -> WardCareError:
    return error(Category.NOT_SUPPORTED, message, *expression)
