"""The patient page: /ui/patients/{id}."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.services.care_summary import care_summary
from wardcare.services.patient_chart import CHART_WINDOW, patient_chart
from wardcare.ui.news2_chart import news2_chart
from wardcare.ui.pages import call, local_time, page, patient_name

router = APIRouter()


@router.get("/patients/{patient_id}", summary="Patient page")
async def patient(patient_id: str, request: Request, ctx: ContextDep, actor: ActorDep) -> Response:
    chart = await call(request, lambda: patient_chart(ctx, actor=actor, patient_id=patient_id))
    if isinstance(chart, Response):
        return chart
    # The care-planning use case's summary: active plans with each intervention's next due.
    care = await call(request, lambda: care_summary(ctx, actor=actor, patient_id=patient_id))
    if isinstance(care, Response):
        return care
    forms = [t for t in ctx.catalog.latest() if t.template.status == "active"]
    return page(
        request,
        "patient.html",
        {
            "chart": chart,
            "title": patient_name(chart.patient),
            "news2_chart": news2_chart(
                chart.news2,
                start=chart.read_at - CHART_WINDOW,
                end=chart.read_at,
                label=local_time,
            ),
            "forms": forms,
            "care": care,
            "planned": {p["reference"] for p in care["carePlans"]},
            "latest_news2": chart.news2[-1] if chart.news2 else None,
        },
    )
