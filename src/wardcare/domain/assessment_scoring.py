"""Score a completed assessment from its template's rules: points per answer, summed, banded.

Pure and table-driven, so a trust adds or adjusts a scored assessment (MUST, Morse, a licensed
pressure-ulcer tool) as data in care_templates/ with no Python. Templates whose rules cannot be
written as a sum of points (NEWS2: per-patient SpO2 scale, the single-parameter rule) name their
own engine instead.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

Answer = bool | int | float | str


def exact(value: float | Fraction) -> Fraction:
    """A number as the exact decimal it was written as (18.5 is 37/2, 0.1 is 1/10).

    Bands are compared exactly, never after rounding and never through binary floating point:
    BAPEN 'MUST' step 2 puts a loss of exactly 10 % in the 5-10 % band, but (70 - 63) / 70 * 100
    is 10.000000000000002 in floating point; and a BMI of 18.496 is under 18.5 even though it
    rounds to 18.5 (BAPEN 'MUST' step 1).
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(Decimal(repr(float(value))))


@dataclass(frozen=True)
class NumericBand:
    """Points for a number: `below` is a strict bound, `up_to` an inclusive one, neither = rest."""

    points: int
    below: float | None = None
    up_to: float | None = None

    def contains(self, value: float | Fraction) -> bool:
        if self.below is not None:
            return exact(value) < exact(self.below)
        if self.up_to is not None:
            return exact(value) <= exact(self.up_to)
        return True


@dataclass(frozen=True)
class ItemRule:
    link_id: str
    text: str
    kind: str  # boolean | integer | decimal | choice | string
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    option_points: Mapping[str, int] = field(default_factory=dict)  # choice code -> points
    numeric_bands: Sequence[NumericBand] = ()
    points_if_true: int | None = None
    # The item counts only when this other item has this answer (Questionnaire enableWhen).
    enable_when: tuple[str, Answer] | None = None
    # Arithmetic over other items' answers (e.g. BMI from weight and height), when not answered.
    derived_from: str | None = None


@dataclass(frozen=True)
class RiskBand:
    code: str
    display: str
    minimum: int
    maximum: int | None
    meaning: str
    response: str
    priority: str | None = None  # FHIR Task priority when the band needs escalation
    recheck: timedelta | None = None


@dataclass(frozen=True)
class ScoringRules:
    items: Sequence[ItemRule]
    bands: Sequence[RiskBand]
    scored: bool = True


@dataclass(frozen=True)
class ItemScore:
    link_id: str
    answer: Answer
    points: int | None


@dataclass(frozen=True)
class AssessmentResult:
    items: tuple[ItemScore, ...]
    total: int | None
    band: RiskBand | None
    missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


class AnswerError(ValueError):
    """An answer the template cannot accept; names the item (the linkId)."""

    def __init__(self, link_id: str, message: str) -> None:
        super().__init__(message)
        self.link_id = link_id


def check_answers(rules: ScoringRules, answers: Mapping[str, Answer]) -> None:
    """Check every given answer against its item, generically from the template's data (what
    the published Questionnaire says: item type, minValue/maxValue, answerOption, enableWhen).

    AnswerError names the linkId of the first bad answer: an unknown question; a wrong type;
    a number outside min/max; a code not among the options; or an answer to a question that is
    not asked (its enableWhen is false). FHIR R4 Questionnaire.item.enableWhen: a disabled item
    is not shown and takes no answer; WardCare refuses such an answer rather than storing,
    extracting or scoring something the nurse was never asked (the ward UI never sends one).
    """
    by_id = {item.link_id: item for item in rules.items}
    unknown = sorted(set(answers) - set(by_id))
    if unknown:
        raise AnswerError(unknown[0], f"{unknown[0]!r} is not a question of this assessment")
    for item in rules.items:
        if item.link_id not in answers:
            continue
        if not _enabled(item, answers, by_id):
            assert item.enable_when is not None
            other, expected = item.enable_when
            raise AnswerError(
                item.link_id,
                f"{item.text}: not asked unless {by_id[other].text} ({other}) is "
                f"{_shown(expected)}; leave it unanswered",
            )
        _checked(item, answers[item.link_id])


def _shown(value: Answer) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def score(rules: ScoringRules, answers: Mapping[str, Answer]) -> AssessmentResult:
    """Validate answers against the rules and score them; a missing required answer means no
    total (an incomplete assessment is never shown as a low score)."""
    check_answers(rules, answers)
    by_id = {item.link_id: item for item in rules.items}
    values: dict[str, Answer | Fraction] = dict(answers)
    for item in rules.items:
        if item.derived_from and item.link_id not in values:
            # Kept exact (a Fraction), never rounded: the bands apply to the value itself
            # (BAPEN 'MUST' steps 1 and 2: BMI 18.496 is <18.5, a loss of 4.999 % is <5 %).
            derived = _evaluate(item.derived_from, values)
            if derived is not None:
                values[item.link_id] = derived
    scored: list[ItemScore] = []
    missing: list[str] = []
    for item in rules.items:
        if not _enabled(item, values, by_id):
            continue
        if item.link_id not in values:
            if item.required:
                missing.append(item.link_id)
            continue
        answer = _checked(item, values[item.link_id])
        points = _points(item, answer)
        shown = float(answer) if isinstance(answer, Fraction) else answer
        scored.append(ItemScore(item.link_id, shown, points))
    if missing or not rules.scored:
        return AssessmentResult(tuple(scored), None, None, tuple(missing))
    total = sum(s.points for s in scored if s.points is not None)
    return AssessmentResult(tuple(scored), total, band_for(rules.bands, total), ())


def band_for(bands: Sequence[RiskBand], total: int) -> RiskBand | None:
    for band in bands:
        if total >= band.minimum and (band.maximum is None or total <= band.maximum):
            return band
    return None


def _enabled(
    item: ItemRule,
    values: Mapping[str, Answer | Fraction],
    by_id: Mapping[str, ItemRule],
    seen: frozenset[str] = frozenset(),
) -> bool:
    """FHIR R4 enableWhen (operator =): asked when the other item is itself asked and has the
    expected answer, of the same kind (yes is not the number 1)."""
    if item.enable_when is None:
        return True
    other, expected = item.enable_when
    controller = by_id.get(other)
    if controller is None or other in seen:
        return False
    if not _enabled(controller, values, by_id, seen | {item.link_id}):
        return False
    given = values.get(other)
    if given is None or isinstance(given, bool) != isinstance(expected, bool):
        return False
    if isinstance(given, str) != isinstance(expected, str):
        return False
    return given == expected


def _checked(item: ItemRule, answer: Answer | Fraction) -> Answer | Fraction:
    where = item.link_id
    if item.kind == "boolean":
        if not isinstance(answer, bool):
            raise AnswerError(where, f"{item.text}: answer yes or no (true/false)")
        return answer
    if item.kind in ("integer", "decimal"):
        if isinstance(answer, bool) or not isinstance(answer, int | float | Fraction):
            raise AnswerError(where, f"{item.text}: answer with a number")
        if not math.isfinite(answer):
            raise AnswerError(where, f"{item.text}: answer with a number")
        if item.kind == "integer" and exact(answer).denominator != 1:
            raise AnswerError(where, f"{item.text}: answer with a whole number")
        shown = f"{float(answer):g}"
        if item.minimum is not None and exact(answer) < exact(item.minimum):
            raise AnswerError(where, f"{item.text}: {shown} is below {item.minimum:g}")
        if item.maximum is not None and exact(answer) > exact(item.maximum):
            raise AnswerError(where, f"{item.text}: {shown} is above {item.maximum:g}")
        return answer
    if item.kind == "choice":
        if not isinstance(answer, str) or answer not in item.option_points:
            allowed = ", ".join(item.option_points)
            raise AnswerError(where, f"{item.text}: {answer!r} is not one of {allowed}")
        return answer
    if not isinstance(answer, str):
        raise AnswerError(where, f"{item.text}: answer with text")
    return answer


def _points(item: ItemRule, answer: Answer | Fraction) -> int | None:
    if item.kind == "choice" and isinstance(answer, str):
        return item.option_points[answer]
    if item.kind == "boolean":
        if item.points_if_true is None:
            return None
        return item.points_if_true if answer else 0
    if item.numeric_bands and isinstance(answer, int | float | Fraction):
        for band in item.numeric_bands:
            if band.contains(answer):
                return band.points
    return None


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def check_expression(expression: str) -> set[str]:
    """The item names an arithmetic expression uses; ValueError for anything but arithmetic."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(expression, mode="eval")):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif (
            not isinstance(
                node, ast.Expression | ast.BinOp | ast.Constant | ast.Load | ast.UnaryOp | ast.USub
            )
            and type(node) not in _OPERATORS
        ):
            raise ValueError(f"only arithmetic is allowed in {expression!r}")
    return names


def _evaluate(expression: str, values: Mapping[str, Answer | Fraction]) -> Fraction | None:
    """Arithmetic over answers (names are linkIds with '-' written as '_'), done exactly on the
    decimals as written (see ``exact``); None if one is missing or the arithmetic is impossible
    (e.g. division by zero)."""

    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return exact(node.value)
        if isinstance(node, ast.Name):
            value = values.get(node.id.replace("_", "-"), values.get(node.id))
            if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
                raise LookupError(node.id)
            if isinstance(value, float) and not math.isfinite(value):
                raise LookupError(node.id)
            return exact(value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            result = _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
            if isinstance(result, Fraction):
                return result
            # A fractional power gives a float (or a complex number for a negative base).
            if isinstance(result, int | float) and math.isfinite(result):
                return exact(result)
            raise ArithmeticError(expression)
        raise ValueError(f"only arithmetic is allowed in {expression!r}")

    try:
        return walk(ast.parse(expression, mode="eval"))
    except (LookupError, ArithmeticError):
        return None
