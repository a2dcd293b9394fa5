"""The NEWS2 observation chart for the patient handover: RCP NEWS2 chart 1, as geometry.

The RCP chart stacks one block per parameter (A+B respirations and SpO2, C blood pressure and
pulse, D consciousness, E temperature, then the NEWS total); each block has a row per range,
shaded by the points that range scores, and each observation set is a column in which the
reading is marked in the row its value falls in. Here the columns sit on a true time axis of
the last 72 hours (so gaps between sets show), and the points of each row come from the scoring
functions in `domain.news2`, so the chart cannot disagree with the scores.

Pure geometry in millimetres (origin top left, y down, as in SVG); the templates draw it.
NEWS2 © Royal College of Physicians 2017 (chart layout and colour scheme).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from wardcare.domain import news2
from wardcare.domain.news2 import Consciousness, Parameter, SpO2Scale
from wardcare.domain.news2_colours import Swatch, band_swatch, point_swatch

Value = float | bool | str


@dataclass(frozen=True)
class ChartRow:
    label: str
    points: int
    upper: float  # the row holds values above the row below's upper and up to this (inclusive)


@dataclass(frozen=True)
class ChartBlock:
    title: str
    parameter: Parameter
    rows: tuple[ChartRow, ...]  # bottom to top, as upper bounds rise


def _numeric_block(
    title: str,
    parameter: Parameter,
    bounds: Sequence[tuple[float, str]],
    score: Callable[[float], int],
    step: float = 1.0,
) -> ChartBlock:
    rows, previous = [], -math.inf
    for upper, label in bounds:
        representative = upper if math.isfinite(upper) else previous + step
        rows.append(ChartRow(label, score(representative), upper))
        previous = upper
    return ChartBlock(title, parameter, tuple(rows))


INF = math.inf
RESPIRATIONS = _numeric_block(
    "Respirations /min",
    Parameter.RESPIRATION_RATE,
    [(8, "≤8"), (11, "9-11"), (20, "12-20"), (24, "21-24"), (INF, "≥25")],
    news2.score_respiration_rate,
)
SPO2_SCALE_1 = _numeric_block(
    "SpO2 scale 1 %",
    Parameter.SPO2,
    [(91, "≤91"), (93, "92-93"), (95, "94-95"), (INF, "≥96")],
    news2.score_spo2,
)
# Scale 2: above 92 % the row depends on air or oxygen (RCP chart 1); `upper` orders the rows
# and the placement below reads the oxygen of the same set.
SPO2_SCALE_2 = ChartBlock(
    "SpO2 scale 2 %",
    Parameter.SPO2,
    (
        ChartRow("≤83", 3, 83),
        ChartRow("84-85", 2, 85),
        ChartRow("86-87", 1, 87),
        ChartRow("88-92, ≥93 on air", 0, 92),
        ChartRow("93-94 on O2", 1, 94),
        ChartRow("95-96 on O2", 2, 96),
        ChartRow("≥97 on O2", 3, INF),
    ),
)
AIR_OR_OXYGEN = ChartBlock(
    "Air or oxygen",
    Parameter.AIR_OR_OXYGEN,
    (ChartRow("Air", news2.score_air_or_oxygen(False), 0), ChartRow("Oxygen", 2, 1)),
)
SYSTOLIC_BP = _numeric_block(
    "Systolic BP mmHg",
    Parameter.SYSTOLIC_BP,
    [(90, "≤90"), (100, "91-100"), (110, "101-110"), (200, "111-200"), (219, "201-219"),
     (INF, "≥220")],
    news2.score_systolic_bp,
)  # fmt: skip
PULSE = _numeric_block(
    "Pulse /min",
    Parameter.PULSE,
    [(40, "≤40"), (50, "41-50"), (90, "51-90"), (110, "91-110"), (130, "111-130"), (INF, "≥131")],
    news2.score_pulse,
)
CONSCIOUSNESS = ChartBlock(
    "Consciousness",
    Parameter.CONSCIOUSNESS,
    (
        ChartRow("Alert", news2.score_consciousness(Consciousness.ALERT), 0),
        ChartRow("CVPU", news2.score_consciousness(Consciousness.VOICE), 1),
    ),
)
TEMPERATURE = _numeric_block(
    "Temperature °C",
    Parameter.TEMPERATURE,
    [(35.0, "≤35.0"), (36.0, "35.1-36.0"), (38.0, "36.1-38.0"), (39.0, "38.1-39.0"),
     (INF, "≥39.1")],
    news2.score_temperature,
    step=0.1,
)  # fmt: skip


def blocks_for(scale: SpO2Scale) -> tuple[ChartBlock, ...]:
    """Chart 1's blocks in its order, with the SpO2 scale the patient is on."""
    spo2 = SPO2_SCALE_2 if scale is SpO2Scale.SCALE_2 else SPO2_SCALE_1
    return (RESPIRATIONS, spo2, AIR_OR_OXYGEN, SYSTOLIC_BP, PULSE, CONSCIOUSNESS, TEMPERATURE)


@dataclass(frozen=True)
class ObservationSet:
    """The readings taken at one time, and the NEWS2 scored from them (None if not scored)."""

    at: datetime
    values: Mapping[Parameter, Value]
    total: int | None = None
    band: str | None = None


def row_index(block: ChartBlock, value: Value, on_oxygen: bool | None = None) -> int:
    """Which row of the block (0 = bottom) a reading is marked in."""
    if block.parameter is Parameter.CONSCIOUSNESS:
        return 0 if Consciousness(str(value)) is Consciousness.ALERT else 1
    if block.parameter is Parameter.AIR_OR_OXYGEN:
        return 1 if value else 0
    number = float(value)
    if block is SPO2_SCALE_2 and number > 92 and not on_oxygen:
        return 3  # on air, 93 % and above scores 0 on scale 2
    return next(i for i, row in enumerate(block.rows) if number <= row.upper)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    swatch: Swatch


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    bold: bool = False


@dataclass(frozen=True)
class Mark:
    x: float
    y: float


@dataclass(frozen=True)
class TotalMark:
    x: float
    y: float
    text: str
    swatch: Swatch


@dataclass
class ChartGeometry:
    width: float
    height: float
    rects: list[Rect] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    totals: list[TotalMark] = field(default_factory=list)
    gridlines: list[tuple[float, str]] = field(default_factory=list)  # (x, time label)
    plot_left: float = 0.0
    plot_top: float = 0.0


def chart_geometry(
    sets: Sequence[ObservationSet],
    *,
    until: datetime,
    scale: SpO2Scale = SpO2Scale.SCALE_1,
    span: timedelta = timedelta(hours=72),
    width: float = 265.0,
    row_height: float = 3.4,
    label_width: float = 44.0,
    header: float = 5.0,
    grid_every: timedelta = timedelta(hours=6),
    time_label: Callable[[datetime], str] = lambda at: at.strftime("%d %H:%M"),
) -> ChartGeometry:
    """Lay the chart out: shaded rows per block, a mark per reading, the total per set."""
    since = until - span
    plot_w = width - label_width
    shown = sorted((s for s in sets if since < s.at <= until), key=lambda s: s.at)
    blocks = blocks_for(scale)
    rows = sum(len(b.rows) for b in blocks) + 1  # + the NEWS total row
    gap = 1.0
    geometry = ChartGeometry(
        width,
        header + rows * row_height + gap * len(blocks),
        plot_left=label_width,
        plot_top=header,
    )

    def x_of(at: datetime) -> float:
        return label_width + plot_w * ((at - since) / span)

    y = header
    for block in blocks:
        geometry.labels.append(Label(0.5, y + row_height * 0.8, block.title, bold=True))
        top_of: dict[int, float] = {}
        for index in reversed(range(len(block.rows))):  # highest range on top, as on chart 1
            row = block.rows[index]
            geometry.rects.append(Rect(label_width, y, plot_w, row_height, point_swatch(0)))
            geometry.rects.append(
                Rect(label_width - 14.0, y, 14.0, row_height, point_swatch(row.points))
            )
            geometry.labels.append(Label(label_width - 13.5, y + row_height * 0.78, row.label))
            top_of[index] = y
            y += row_height
        for observation in shown:
            value = observation.values.get(block.parameter)
            if value is None:
                continue
            oxygen = observation.values.get(Parameter.AIR_OR_OXYGEN)
            index = row_index(block, value, bool(oxygen) if oxygen is not None else None)
            geometry.marks.append(Mark(x_of(observation.at), top_of[index] + row_height / 2))
        y += gap
    geometry.labels.append(Label(0.5, y + row_height * 0.8, "NEWS2 total", bold=True))
    geometry.rects.append(Rect(label_width, y, plot_w, row_height, point_swatch(0)))
    for observation in shown:
        if observation.total is not None:
            geometry.totals.append(
                TotalMark(
                    x_of(observation.at),
                    y + row_height * 0.78,
                    str(observation.total),
                    band_swatch(observation.band),
                )
            )
    # Grid lines on whole multiples of `grid_every` (UTC), labelled unless the label would run
    # off the right edge.
    step = grid_every.total_seconds()
    tick = datetime.fromtimestamp(math.ceil(since.timestamp() / step) * step, tz=since.tzinfo)
    while tick <= until:
        x = x_of(tick)
        geometry.gridlines.append((x, time_label(tick) if width - x > 9 else ""))
        tick += grid_every
    return geometry
