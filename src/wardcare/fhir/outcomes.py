"""The one table from error category to HTTP status and OperationOutcome (FHIR R4 3.1.0.4.1)."""

from __future__ import annotations

from typing import Any

from wardcare.errors import Category, Issue, WardCareError

# category -> (HTTP status, default OperationOutcome issue code from http://hl7.org/fhir/issue-type)
STATUS: dict[Category, tuple[int, str]] = {
    Category.INVALID: (400, "invalid"),
    Category.UNPROCESSABLE: (422, "processing"),
    Category.NOT_FOUND: (404, "not-found"),
    Category.GONE: (410, "deleted"),
    Category.CONFLICT: (409, "conflict"),
    Category.PRECONDITION_FAILED: (412, "conflict"),
    Category.NOT_SUPPORTED: (400, "not-supported"),
    Category.NOT_ALLOWED: (405, "not-supported"),
    Category.UNAUTHORIZED: (401, "login"),
    Category.FORBIDDEN: (403, "forbidden"),
    Category.STORAGE: (503, "transient"),
}


def status_for(error: WardCareError) -> int:
    return STATUS[error.category][0]


def operation_outcome(error: WardCareError) -> dict[str, Any]:
    default_code = STATUS[error.category][1]
    issues = error.issues or [Issue(error.category.value)]
    return {
        "resourceType": "OperationOutcome",
        "issue": [_issue(i, default_code) for i in issues],
    }


def information(message: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": message}],
    }


def _issue(issue: Issue, default_code: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "severity": "error",
        "code": issue.code or default_code,
        "diagnostics": issue.message,
    }
    if issue.expression:
        body["expression"] = list(issue.expression)
    return body
