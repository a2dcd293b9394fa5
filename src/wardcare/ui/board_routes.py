"""The ward board: /ui/wards lists the wards, /ui/wards/{ward} shows one ward bed by bed, and
/ui/wards/{ward}/board is the same board's rows alone, which the page fetches every minute to
refresh without reloading (and without flashing)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from wardcare.api.dependencies import ActorDep, ContextDep
from wardcare.services.ward_board import ward_board
from wardcare.services.ward_census import list_wards
from wardcare.ui.pages import call, page

router = APIRouter()

REFRESH_SECONDS = 60


@router.get("/", include_in_schema=False)
async def home() -> Response:
    return RedirectResponse("/ui/wards", status_code=303)


@router.get("/wards", summary="Wards")
async def wards(request: Request, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await call(request, lambda: list_wards(ctx, actor=actor))
    if isinstance(found, Response):
        return found
    return page(request, "wards.html", {"wards": found, "title": "Wards"})


@router.get("/wards/{ward}", summary="Ward board")
async def board(ward: str, request: Request, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await call(request, lambda: ward_board(ctx, actor=actor, ward_code=ward))
    if isinstance(found, Response):
        return found
    return page(
        request,
        "board.html",
        {
            "board": found,
            "title": f"{found.ward.name}: ward board",
            "refresh_seconds": REFRESH_SECONDS,
        },
    )


@router.get("/wards/{ward}/board", summary="Ward board rows (refreshed by the page)")
async def board_rows(ward: str, request: Request, ctx: ContextDep, actor: ActorDep) -> Response:
    found = await call(request, lambda: ward_board(ctx, actor=actor, ward_code=ward))
    if isinstance(found, Response):
        return found
    return page(request, "board_rows.html", {"board": found})
