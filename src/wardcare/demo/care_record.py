"""What the ward's nurses did for each patient of the synthetic hospital: a care record to replay.

Pure decisions (no database): for each admitted patient, the admission risk assessments a nurse
recorded (pressure ulcer risk screen and pain within hours of admission, the NICE NG249
multifactorial falls assessment for patients 65 and over or 50 and over with a risk factor,
'MUST' within a day; weekly rescreens for long stays, an occasional one missed; pain rescored
through the stay), their answers, and how the ward works the care plans those results propose:
which proposals a nurse adopts and when, how far behind the care rounds are, and how often an
intervention is not done. `care_rounds.py` replays these through the services.

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
    frailty = rng.betavariate(2, 3) + max(0, age - 70) / 60
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
            ("blanching-redness", 0.1 + 0.3 * frail),
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
            rng, [("none", 1.0), ("occasional", 0.15 + 0.35 * frail), ("frequent", 0.15 * frail)]
        ),
        "nutrition": nutrition,
        "medical-device": on_oxygen or rng.random() < 0.1,
    }


def falls_assessed(profile: _Profile) -> bool:
    """NICE NG249's inpatient population: 65 and over, or 50-64 with a risk factor."""
    risky = bool(profile.codes & {FALL, FRACTURED_NOF, STROKE, SYNCOPE, DEMENTIA, DELIRIUM})
    return profile.age >= 65 or (profile.age >= 50 and (risky or profile.frailty > 0.5))


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


def _assessments(
    admission: AdmittedPatient, profile: _Profile, now: datetime, rng: random.Random
) -> list[PlannedAssessment]:
    admitted = admitted_at(admission)
    on_oxygen = COPD in profile.codes or admission.deteriorating
    found: list[PlannedAssessment] = []
    pain_at = admitted + _minutes(rng, 20, 90)
    found.append(
        PlannedAssessment("pain-score", pain_at, pain_answers(profile, rng, on_admission=True))
    )
    pressure_at = admitted + _minutes(rng, 60, 330)
    found.append(
        PlannedAssessment(
            "pressure-ulcer-risk",
            pressure_at,
            pressure_answers(profile, rng, nutrition="not-screened", on_oxygen=on_oxygen),
        )
    )
    if falls_assessed(profile):
        found.append(
            PlannedAssessment(
                "falls-multifactorial",
                admitted + _minutes(rng, 90, 340),
                falls_answers(profile, rng),
            )
        )
    must = must_answers(profile, rng)
    found.append(PlannedAssessment("must", admitted + _minutes(rng, 180, 1380), must))
    # Weekly rescreens for a long stay; now and then one is missed (the due list shows it).
    week = timedelta(days=7)
    rescreen = admitted + week
    while rescreen + timedelta(hours=4) < now:
        if rng.random() < 0.85:
            at = rescreen + _minutes(rng, -240, 240)
            found.append(
                PlannedAssessment(
                    "pressure-ulcer-risk",
                    at,
                    pressure_answers(profile, rng, nutrition=must_band(must), on_oxygen=on_oxygen),
                )
            )
            must = {**must_answers(profile, rng), "height": must["height"]}
            found.append(PlannedAssessment("must", at + _minutes(rng, 10, 120), must))
            if falls_assessed(profile):
                found.append(
                    PlannedAssessment(
                        "falls-multifactorial",
                        at + _minutes(rng, 5, 60),
                        falls_answers(profile, rng),
                    )
                )
        rescreen += week
    # Pain rescored through the last day and a half, about every 8-12 hours (12-hourly is the
    # template's schedule): the latest may be overdue.
    when = max(pain_at, now - timedelta(hours=36)) + _minutes(rng, 240, 720)
    while when < now - timedelta(minutes=30):
        found.append(
            PlannedAssessment("pain-score", when, pain_answers(profile, rng, on_admission=False))
        )
        when += _minutes(rng, 480, 780)
    return sorted((a for a in found if a.at < now), key=lambda a: a.at)


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
        rounds_until = now - (_minutes(rng, 150, 300) if behind else _minutes(rng, 20, 70))
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
