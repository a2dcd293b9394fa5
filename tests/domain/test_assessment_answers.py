"""Answers checked generically from the template's data (Questionnaire item type, minValue and
maxValue, answerOption, enableWhen): no template needs Python of its own."""

from __future__ import annotations

import pytest

from wardcare.domain.assessment_scoring import (
    AnswerError,
    ItemRule,
    NumericBand,
    RiskBand,
    ScoringRules,
    check_answers,
    score,
)

RULES = ScoringRules(
    items=(
        ItemRule("fallen", "Fallen in the last year", "boolean", required=True, points_if_true=1),
        ItemRule(
            "falls-count",
            "How many falls",
            "integer",
            required=True,
            minimum=1,
            maximum=50,
            numeric_bands=(NumericBand(1, up_to=1), NumericBand(2)),
            enable_when=("fallen", True),
        ),
        ItemRule(
            "injury",
            "Injured",
            "choice",
            required=True,
            option_points={"none": 0, "minor": 1},
            enable_when=("falls-count", 3),
        ),
        ItemRule("score-1", "Numeric", "decimal", minimum=0.5, maximum=2.5),
    ),
    bands=(
        RiskBand("low", "Low", 0, 1, "m", "r"),
        RiskBand("high", "High", 2, None, "m", "r"),
    ),
)


def test_a_required_item_counts_only_when_enabled() -> None:
    assert score(RULES, {"fallen": False}).missing == ()
    assert score(RULES, {"fallen": True}).missing == ("falls-count",)
    assert score(RULES, {"fallen": True, "falls-count": 2}).missing == ()
    # A chain: injury is asked only after 3 falls, which is asked only after a fall.
    assert score(RULES, {"fallen": True, "falls-count": 3}).missing == ("injury",)


@pytest.mark.parametrize(
    "answers",
    [
        {"fallen": False, "falls-count": 2},  # not asked: no fall
        {"fallen": True, "falls-count": 2, "injury": "none"},  # not asked: 2 falls, not 3
        {"falls-count": 1},  # the question it depends on is unanswered
    ],
)
def test_an_answer_to_a_question_that_is_not_asked_is_refused_naming_it(
    answers: dict[str, bool | int | str],
) -> None:
    disabled = next(k for k in reversed(answers) if k != "fallen")
    with pytest.raises(AnswerError) as raised:
        check_answers(RULES, answers)
    assert raised.value.link_id == disabled
    assert "not asked" in str(raised.value)
    with pytest.raises(AnswerError):
        score(RULES, answers)


def test_enable_when_true_is_not_the_number_1() -> None:
    rules = ScoringRules(
        items=(
            ItemRule("count", "Count", "integer"),
            ItemRule("why", "Why", "string", enable_when=("count", True)),
        ),
        bands=(),
        scored=False,
    )
    with pytest.raises(AnswerError):
        check_answers(rules, {"count": 1, "why": "x"})


@pytest.mark.parametrize(
    ("link_id", "value", "ok"),
    [
        ("score-1", 0.5, True),
        ("score-1", 2.5, True),
        ("score-1", 0.49, False),
        ("score-1", 2.51, False),
        ("falls-count", 1, True),
        ("falls-count", 50, True),
        ("falls-count", 0, False),
        ("falls-count", 51, False),
        ("falls-count", 1.5, False),
        ("score-1", float("nan"), False),
        ("score-1", float("inf"), False),
        ("score-1", "1", False),
        ("score-1", True, False),
    ],
)
def test_min_and_max_and_type_are_checked_naming_the_item(
    link_id: str, value: float | str, ok: bool
) -> None:
    answers: dict[str, bool | int | float | str] = {"fallen": True, link_id: value}
    if ok:
        check_answers(RULES, answers)
        return
    with pytest.raises(AnswerError) as raised:
        check_answers(RULES, answers)
    assert raised.value.link_id == link_id


def test_an_unknown_question_is_refused() -> None:
    with pytest.raises(AnswerError) as raised:
        check_answers(RULES, {"fallen": True, "colour": "red"})
    assert raised.value.link_id == "colour"
