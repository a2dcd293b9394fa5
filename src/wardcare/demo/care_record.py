"""What the ward's nurses did for each patient of the synthetic hospital: a care record to replay.

Pure decisions (no database): for each admitted patient, the admission risk assessments a nurse
recorded (pain, the pressure ulcer risk screen and the NICE NG249 multifactorial falls
assessment within hours of admission, 'MUST' within a day; weekly rescreens, daily while at high
pressure ulcer risk, an occasional one missed; pain rescored as its band asks), their answers,
and how the ward works the care plans those results propose: which proposals a nurse adopts and
when, how far behind the care rounds are, and how often an intervention is not done.
`care_rounds.py` replays these through the services.

Answers follow the patient: age, the admitting problem and long-term conditions (dementia means
cognitive impairment, a fall or fractured neck of femur a falls history and pain, a stroke lost
sensation and no intake), and a frailty drawn for each patient, so scores vary the way a medical
and an elderly-care ward's do: most patients at some risk, a few at high risk, a few at none.

Deterministic: the same hospital, ``now`` and ``seed`` give the same decisions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from wardcare.demo.synthetic_hospital import AdmittedPatient, SyntheticHospital, ward_code_of

DEFAULT_SEED = 11

# Admitting problems and long-term conditions (SNOMED CT) that change the answers.
FALL = "1912002"
FRACTURED_NOF = "5913000"
STROKE = "230690007"
DELIRIUM = "2776000"
SYNCOPE = "271594007"
CELLULITIS = "128045006"
SEPSIS = "91302008"
DEMENTIA = "52448006"
DIABETES = "44054006"
COPD = "13645005"
OSTEOARTHRITIS = "396275006"

Answer = bool | int | float | str


@dataclass(frozen=True)
class PlannedAssessment:
    """One assessment a nurse recorded: the template id, when and the answers by linkId (plain
    values; a choice is its code)."""

    template: str
    at: datetime
    answers: dict[str, Answer]


@dataclass(frozen=True)
class PatientCare:
    """What the ward did for one patient (times are UTC, none after ``now``)."""

    admission: AdmittedPatient
    ward: str
    assessments: list[PlannedAssessment]
    # Each care-plan template a proposal may name -> hours after the proposal that a nurse
    # adopted it (applied and activated); a template not listed is left as a proposal.
    adopt_after_hours: dict[str, float]
    # Care rounds document interventions from `rounds_from` to `rounds_until` every
    # `round_every`; after `rounds_until` nothing is documented, so work falls overdue.
    rounds_from: datetime
    rounds_until: datetime
    round_every: timedelta
    not_done_share: float  # of interventions due at a round, documented as not done
    missed_share: float  # of interventions due at a round, left undocumented
    seed: int  # for the rounds' own choices

    @property
    def patient_ref(self) -> str:
        return f"Patient/{self.admission.patient['id']}"

    @property
    def encounter_ref(self) -> str:
        return f"Encounter/{self.admission.encounter['id']}"


@dataclass(frozen=True)
class _Profile:
    age: int
    female: bool
    frailty: float  # 0 (fit) to 1 (very frail)
    codes: frozenset[str]


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def admitted_at(admission: AdmittedPatient) -> datetime:
    return _parse(admission.encounter["period"]["start"])


def _age(patient: dict[str, object], today: date) -> int:
    born = date.fromisoformat(str(patient["birthDate"]))
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _profile(admission: AdmittedPatient, now: datetime, rng: random.Random) -> _Profile:
    codes = frozenset(
        str(c["code"]["coding"][0]["code"]) for c in admission.conditions if c.get("code")
    )
    age = _age(admission.patient, now.date())
    frailty = rng.betavariate(2, 4) + max(0, age - 75) / 80
    if DEMENTIA in codes or FRACTURED_NOF in codes or STROKE in codes:
        frailty += 0.25
    return _Profile(age, admission.patient["gender"] == "female", min(frailty, 1.0), codes)


def _pick(rng: random.Random, options: list[tuple[str, float]]) -> str:
    return rng.choices([o for o, _w in options], weights=[w for _o, w in options])[0]


def must_answers(profile: _Profile, rng: random.Random) -> dict[str, Answer]:
    """'MUST': weight and height (BMI worked out by the server), weight loss, acute disease."""
    height = round(rng.gauss(1.62 if profile.female else 1.75, 0.06), 2)
    frail = profile.frailty
    bmi = rng.gauss(26.5 - 6 * frail, 4.0)
    bmi = max(15.5, min(42.0, bmi))
    weight = round(bmi * height * height, 1)
    loss_roll = rng.random()
    if loss_roll < 0.7 - 0.3 * frail:
        loss = 0.0
    elif loss_roll < 0.92 - 0.1 * frail:
        loss = round(rng.uniform(1.0, 9.5), 1)
    else:
        loss = round(rng.uniform(10.5, 15.0), 1)
    acute = (STROKE in profile.codes and rng.random() < 0.5) or rng.random() < 0.04
    return {
        "weight": weight,
        "height": height,
        "weight-loss-percent": loss,
        "acute-disease-effect": acute,
    }


def must_band(answers: dict[str, Answer]) -> str:
    """The 'MUST' band these answers score (BAPEN's steps; the server scores them again)."""
    weight, height = float(answers["weight"]), float(answers["height"])
    bmi = weight / (height * height)
    points = 2 if bmi < 18.5 else 1 if bmi <= 20 else 0
    loss = float(answers["weight-loss-percent"])
    points += 0 if loss < 5 else 1 if loss <= 10 else 2
    points += 2 if answers["acute-disease-effect"] else 0
    return "low" if points == 0 else "medium" if points == 1 else "high"


def pressure_answers(
    profile: _Profile, rng: random.Random, *, nutrition: str, on_oxygen: bool
) -> dict[str, Answer]:
    frail = profile.frailty
    history = _pick(
        rng, [("none", 1.0), ("previous", 0.06 + 0.1 * frail), ("current", 0.05 * frail)]
    )
    skin = _pick(
        rng,
        [
            ("intact", 1.0),
            ("blanching-redness", 0.05 + 0.25 * frail),
            ("non-blanching-redness", 0.08 * frail),
            ("broken-skin", 0.04 * frail),
        ],
    )
    if FRACTURED_NOF in profile.codes:
        mobility = _pick(rng, [("limited", 0.4), ("unable", 0.6)])
    else:
        mobility = _pick(
            rng,
            [
                ("independent", 1.2 - frail),
                ("limited", 0.2 + 0.6 * frail),
                ("unable", 0.15 * frail),
            ],
        )
    return {
        "pressure-ulcer-history": history,
        "skin-inspection": skin,
        "mobility": mobility,
        "sensory-impairment": STROKE in profile.codes
        or (DIABETES in profile.codes and rng.random() < 0.3),
        "cognitive-impairment": DEMENTIA in profile.codes
        or DELIRIUM in profile.codes
        or rng.random() < 0.1 * frail,
        "moisture": _pick(
            rng, [("none", 1.0), ("occasional", 0.1 + 0.3 * frail), ("frequent", 0.1 * frail)]
        ),
        "nutrition": nutrition,
        "medical-device": on_oxygen or rng.random() < 0.1,
    }


def falls_answers(profile: _Profile, rng: random.Random) -> dict[str, Answer]:
    frail = profile.frailty
    if DELIRIUM in profile.codes:
        cognition = "new-confusion"
    elif DEMENTIA in profile.codes:
        cognition = "known-impairment"
    else:
        cognition = _pick(rng, [("no-concern", 1.0), ("new-confusion", 0.08 * frail)])
    fell = bool(profile.codes & {FALL, FRACTURED_NOF}) or rng.random() < 0.15 + 0.2 * frail
    if FRACTURED_NOF in profile.codes:
        mobility = "needs-assistance"
    else:
        mobility = _pick(
            rng,
            [
                ("independent", 1.1 - frail),
                ("own-aid", 0.3 + 0.3 * frail),
                ("aid-needed", 0.15 * frail),
                ("needs-assistance", 0.25 * frail),
                ("immobile", 0.05 * frail),
            ],
        )
    return {
        "falls-history": fell,
        "cognition": cognition,
        "continence": rng.random() < 0.15 + 0.35 * frail,
        "medication": rng.random() < 0.35 + 0.35 * frail,
        "lying-standing-bp": _pick(
            rng,
            [
                ("not-done", 0.35),
                ("no-drop", 0.45),
                ("postural-drop", 0.1 + 0.1 * frail),
                ("cannot-stand", 0.1 * frail + (0.5 if FRACTURED_NOF in profile.codes else 0)),
            ],
        ),
        "dizziness-or-blackouts": SYNCOPE in profile.codes or rng.random() < 0.08,
        "vision": rng.random() < 0.1 + 0.2 * frail,
        "footwear": rng.random() < 0.1 + 0.2 * frail,
        "mobility": mobility,
    }


_PAIN_SITES = {
    FRACTURED_NOF: ("Right hip", "Sharp, worse on moving"),
    FALL: ("Left hip and wrist", "Aching"),
    CELLULITIS: ("Left lower leg", "Throbbing, hot"),
    OSTEOARTHRITIS: ("Both knees", "Aching, stiff"),
}


def pain_answers(profile: _Profile, rng: random.Random, *, on_admission: bool) -> dict[str, Answer]:
    painful = next((c for c in _PAIN_SITES if c in profile.codes), None)
    if painful is not None:
        score = rng.choice((3, 4, 5, 6, 7, 8) if on_admission else (1, 2, 3, 3, 4, 5))
    else:
        score = rng.choice((0, 0, 0, 1, 2, 2, 3, 4) if on_admission else (0, 0, 0, 0, 1, 2, 3))
    answers: dict[str, Answer] = {"pain-score": score}
    if score and painful is not None:
        answers["pain-location"], answers["pain-character"] = _PAIN_SITES[painful]
    elif score:
        answers["pain-location"] = rng.choice(("Chest on coughing", "Lower back", "Headache"))
    return answers


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


_PRESSURE_POINTS: dict[str, dict[Answer, int]] = {
    "pressure-ulcer-history": {"none": 0, "previous": 2, "current": 4},
    "skin-inspection": {
        "intact": 0,
        "blanching-redness": 2,
        "non-blanching-redness": 4,
        "broken-skin": 4,
    },
    "mobility": {"independent": 0, "limited": 2, "unable": 4},
    "sensory-impairment": {True: 2, False: 0},
    "cognitive-impairment": {True: 2, False: 0},
    "moisture": {"none": 0, "occasional": 1, "frequent": 2},
    "nutrition": {"low": 0, "medium": 1, "high": 2, "not-screened": 1},
    "medical-device": {True: 1, False: 0},
}


def pressure_band(answers: dict[str, Answer]) -> str:
    """The band of the pressure ulcer risk screen (the server scores it again): 0-1 low, 2-3 at
    risk, 4 or more high."""
    total = sum(_PRESSURE_POINTS[k][v] for k, v in answers.items())
    return "low" if total <= 1 else "at-risk" if total <= 3 else "high"


def _pain_gap(score: int, rng: random.Random) -> timedelta:
    """When the nurse scores pain again: 12-hourly with none, within 4 hours when mild, within
    an hour when moderate or severe (the template's rechecks); now and then late."""
    if score == 0:
        gap = _minutes(rng, 540, 720)
    elif score <= 3:
        gap = _minutes(rng, 180, 240)
    else:
        gap = _minutes(rng, 40, 60)
    return gap * 1.6 if rng.random() < 0.12 else gap


def _assessments(
    admission: AdmittedPatient, profile: _Profile, now: datetime, rng: random.Random
) -> list[PlannedAssessment]:
    admitted = admitted_at(admission)
    on_oxygen = COPD in profile.codes or admission.deteriorating
    found: list[PlannedAssessment] = []

    def add(template: str, at: datetime, answers: dict[str, Answer]) -> None:
        if at < now:
            found.append(PlannedAssessment(template, at, answers))

    # Pain on admission, then again as its score asks (reassessed sooner after analgesia).
    when = admitted + _minutes(rng, 20, 90)
    answers = pain_answers(profile, rng, on_admission=True)
    add("pain-score", when, answers)
    if when < now - timedelta(hours=24):  # only the last day is replayed in detail
        when = now - timedelta(hours=24) + _minutes(rng, 0, 240)
        answers = pain_answers(profile, rng, on_admission=False)
        add("pain-score", when, answers)
    while True:
        when += _pain_gap(int(answers["pain-score"]), rng)
        if when >= now:
            break
        answers = pain_answers(profile, rng, on_admission=False)
        add("pain-score", when, answers)

    # Pressure ulcer risk within 6 hours, then weekly, or daily while at high risk (the band's
    # recheck); now and then a rescreen is missed, and the due list shows it.
    must = must_answers(profile, rng)
    when = admitted + _minutes(rng, 60, 330)
    nutrition = "not-screened"
    first = True
    while when < now:
        answers = pressure_answers(profile, rng, nutrition=nutrition, on_oxygen=on_oxygen)
        if rng.random() < 0.9 or first:
            first = False
            add("pressure-ulcer-risk", when, answers)
        step = timedelta(days=1) if pressure_band(answers) == "high" else timedelta(days=7)
        when += step + _minutes(rng, -120, 120)
        nutrition = must_band(must)

    # Falls (WardCare schedules it within 6 hours for every inpatient) and 'MUST' within a day,
    # then weekly.
    when = admitted + _minutes(rng, 90, 340)
    while when < now:
        if rng.random() < 0.9 or when < admitted + timedelta(days=1):
            add("falls-multifactorial", when, falls_answers(profile, rng))
            add("must", when + _minutes(rng, 90, 1040), must)
        must = {**must_answers(profile, rng), "height": must["height"]}
        when += timedelta(days=7) + _minutes(rng, -240, 240)
    return sorted(found, key=lambda a: a.at)


def plan_care_record(
    hospital: SyntheticHospital, *, now: datetime, seed: int = DEFAULT_SEED
) -> list[PatientCare]:
    """Every admitted patient's care record, in the hospital's admission order."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    master = random.Random(seed)
    planned = []
    for admission in hospital.admitted:
        rng = random.Random(master.getrandbits(64))
        profile = _profile(admission, now, rng)
        assessments = _assessments(admission, profile, now, rng)
        adopt = {
            plan: rng.uniform(0.5, 3.0)
            for plan in (
                "pressure-ulcer-prevention",
                "falls-prevention",
                "nutrition-support",
                "pain-management",
            )
            if rng.random() < 0.65
        }
        behind = rng.random() < 0.25  # a busy bay: the last rounds not yet documented
        rounds_until = now - (_minutes(rng, 150, 300) if behind else _minutes(rng, 10, 45))
        planned.append(
            PatientCare(
                admission=admission,
                ward=ward_code_of(hospital, admission),
                assessments=assessments,
                adopt_after_hours=adopt,
                rounds_from=now - timedelta(hours=rng.uniform(5, 8)),
                rounds_until=rounds_until,
                round_every=timedelta(minutes=rng.choice((120, 120, 150, 180))),
                not_done_share=0.06,
                missed_share=0.08,
                seed=rng.getrandbits(32),
            )
        )
    return planned


NOT_DONE_REASONS = (
    "Patient asleep: will reattempt next round",
    "Patient off the ward (X-ray)",
    "Patient with physiotherapist",
    "Refused at this time, advice given",
    "Family visiting: patient asked to wait",
)
