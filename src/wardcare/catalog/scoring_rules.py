"""Turn a validated template into the pure domain's scoring rules."""

from __future__ import annotations

from wardcare.catalog.template_schema import AssessmentTemplate, Item, parse_duration
from wardcare.domain.assessment_scoring import ItemRule, NumericBand, RiskBand, ScoringRules


def scoring_rules(template: AssessmentTemplate) -> ScoringRules:
    return ScoringRules(
        items=tuple(_item(i) for i in template.items),
        bands=tuple(
            RiskBand(
                code=b.code,
                display=b.display,
                minimum=b.min,
                maximum=b.max,
                meaning=b.meaning,
                response=b.response,
                priority=b.priority,
                recheck=parse_duration(b.recheck) if b.recheck else None,
            )
            for b in template.bands
        ),
        scored=template.kind == "scored",
    )


def _item(item: Item) -> ItemRule:
    return ItemRule(
        link_id=item.link_id,
        text=item.text,
        kind=item.type,
        required=item.required,
        minimum=item.min,
        maximum=item.max,
        option_points={a.code: a.points if a.points is not None else 0 for a in item.answers},
        numeric_bands=tuple(NumericBand(b.points, b.below, b.up_to) for b in item.score_bands),
        points_if_true=item.points_if_true,
        enable_when=(item.enable_when.question, item.enable_when.answer)
        if item.enable_when
        else None,
        derived_from=item.derived_from,
    )
