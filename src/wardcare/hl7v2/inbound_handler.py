"""One inbound message, from bytes to the acknowledgements it is answered with.

The order is what makes "never lost, never doubled" true (issue 5, ACK semantics):
1. An unreadable MSH is rejected (AR) and logged as it came.
2. The raw message is logged and committed (`hl7_inbound.receive`) before it is parsed
   further. A resend of a message already finished gets its stored ACK back, unapplied.
3. The message is mapped and applied; its effects, its log row and its ACK commit together.
   Only then is AA sent. A message that is understood but cannot be applied is answered AE
   with ERR and changes nothing; an unsupported type or version is AR; a storage failure is
   AR with ERR 207 and leaves the row "received", so a resend is tried again.
Enhanced mode (MSH-15/16 present, HL7 v2.5.1 2.9.3): the accept ACK (CA, CR or CE on storage
failure) goes first when MSH-15 asks for it, then the application ACK when MSH-16 asks.
"""

from __future__ import annotations

import logging
import uuid

from wardcare import errors, paths
from wardcare.domain.actor import Actor
from wardcare.errors import Category, WardCareError
from wardcare.hl7v2.ack_builder import AckError, build_ack
from wardcare.hl7v2.adt_apply import ADT_EVENTS, apply_adt
from wardcare.hl7v2.inbound_lookups import identifier_groups
from wardcare.hl7v2.inbound_ordering import PATIENT_GROUPS, PATIENT_LOCKS, message_identifiers
from wardcare.hl7v2.message_parsing import (
    DataProblem,
    Header,
    ParsedMessage,
    ParseProblem,
    decode,
    parse,
    parse_text,
    salvage_header,
)
from wardcare.hl7v2.observation_codes import ObservationCodes, load_observation_codes
from wardcare.hl7v2.oru_apply import apply_oru
from wardcare.hl7v2.pid_to_patient import MappingProblem, MappingProblems, patient_keys
from wardcare.services import hl7_inbound
from wardcare.services.context import AppContext
from wardcare.services.hl7_inbound import Applied, MessageKeys
from wardcare.storage import hl7_message_log as message_log
from wardcare.storage.unit_of_work import Transaction

SUPPORTED = {"ADT": ADT_EVENTS, "ORU": ("R01",)}
# Patient identifiers (CX.1 of PID-3, MRG-1) longer than this are refused (AE 102): HL7 v2.5.1
# gives PID-3 a length of 250; the log's patient key and the search index hold 255 characters,
# and two identifiers cut to the same 255 would match the same patient.
MAX_IDENTIFIER_LENGTH = 250
_ATTEMPTS = 3
log = logging.getLogger("wardcare.hl7v2")
CODE_MAP_FILE = "hl7v2-observation-codes.json"


class InboundHandler:
    def __init__(self, ctx: AppContext, code_map: ObservationCodes | None = None) -> None:
        self.ctx = ctx
        self.code_map = code_map or load_observation_codes(paths.FHIR_PROFILES / CODE_MAP_FILE)

    def ordering_keys(self, raw: bytes) -> tuple[str, ...]:
        """The patient a message is about, by every identifier it names (inbound_ordering):
        one patient's messages are applied in order."""
        try:
            message = parse(raw)
        except ParseProblem:
            return ()
        return self._ordering_keys(message)

    def _ordering_keys(self, message: ParsedMessage) -> tuple[str, ...]:
        return PATIENT_GROUPS.ordering_keys(
            message_identifiers(message), lambda keys: identifier_groups(self.ctx, keys)
        )

    def handle(self, raw: bytes) -> list[bytes]:
        """The ACKs to answer `raw` with (none in enhanced mode when none is asked for)."""
        try:
            return self._handle(raw)
        except Exception as exc:  # a defect must still be answered, and never AA
            log.exception("inbound HL7 message failed")
            error = AckError("207", f"Application internal error; nothing was applied ({exc})")
            header = salvage_header(_decoded(raw))
            return [build_ack(header, "AR", control_id=_ack_id(), errors=(error,))]

    def _handle(self, raw: bytes) -> list[bytes]:
        try:
            message = parse(raw)
        except ParseProblem as problem:
            return self._unreadable(raw, problem)
        header = message.header()
        keys = MessageKeys(
            header.sending_application,
            header.sending_facility,
            header.control_id,
            header.message_type,
            _patient_key(message),
        )
        with PATIENT_LOCKS.hold(self._ordering_keys(message)), hl7_inbound.message_lock(keys):
            try:
                claim = hl7_inbound.receive(self.ctx, raw=_text(raw), keys=keys)
            except WardCareError as exc:
                return self._storage_failed(header, exc)
            if not claim.new and claim.message.finished:
                return hl7_inbound.stored_acks(claim.message)
            return self._process(message, header, claim.message.id, keys.patient_key)

    def too_large(self, head: bytes, limit: int) -> list[bytes]:
        """AR for a frame over the size limit (only its head was kept; nothing is stored)."""
        error = AckError("207", f"The message is larger than the {limit} bytes WardCare accepts")
        header = salvage_header(_decoded(head.split(b"\r", 1)[0]))
        return [build_ack(header, "AR", control_id=_ack_id(), errors=(error,))]

    def reprocess(self, message_id: int) -> list[bytes]:
        """Apply a logged message again (after a fix: a new patient, a code map entry)."""
        logged = hl7_inbound.get_message(self.ctx, actor=_nobody(), message_id=message_id)
        if logged is None:
            raise errors.not_found(f"There is no inbound HL7 message {message_id}")
        message = parse_text(logged.raw)
        header = message.header()
        keys = MessageKeys(
            header.sending_application,
            header.sending_facility,
            header.control_id,
            header.message_type,
            logged.patient_key,
        )
        # The patient's other messages wait (and it waits for them); one already applied is a
        # 409, checked under the locks so two reprocesses cannot both apply it.
        with PATIENT_LOCKS.hold(self._ordering_keys(message)), hl7_inbound.message_lock(keys):
            again = hl7_inbound.get_message(self.ctx, actor=_nobody(), message_id=message_id)
            hl7_inbound.reprocessable(again or logged)
            return self._process(message, header, message_id, keys.patient_key)

    # -- steps ------------------------------------------------------------------------------

    def _process(
        self, message: ParsedMessage, header: Header, message_id: int, patient_key: str | None
    ) -> list[bytes]:
        events = SUPPORTED.get(header.message_code)
        if events is None or header.trigger_event not in events:
            code = "200" if events is None else "201"
            error = AckError(
                code, f"WardCare does not accept {header.message_type} messages", "MSH^1^9"
            )
            return self._refuse(header, message_id, "AR", [error], patient_key)
        accepted = _processing_ids(self.ctx.settings.hl7_inbound_processing_ids)
        if accepted and header.processing_id.upper() not in accepted:
            error = AckError(
                "202",
                f"MSH-11 processing id {header.processing_id!r} is not accepted here "
                f"(accepted: {', '.join(sorted(accepted))}; HL7 table 0103)",
                "MSH^1^11",
            )
            return self._refuse(header, message_id, "AR", [error], patient_key)
        unusable = message.problems + _identifier_problems(message)
        if unusable:
            found = [AckError(p.code, p.text, p.location) for p in unusable]
            return self._refuse(header, message_id, "AE", found, patient_key)
        actor = hl7_inbound.interface_actor(header.sending_application, header.sending_facility)

        def work(tx: Transaction, applied: Applied) -> None:
            if header.message_code == "ORU":
                apply_oru(
                    tx,
                    self.ctx,
                    applied,
                    actor=actor,
                    message=message,
                    header=header,
                    code_map=self.code_map,
                )
            else:
                apply_adt(tx, self.ctx, applied, actor=actor, message=message, header=header)

        acks = _acks(header, "AA")
        try:
            for attempt in range(_ATTEMPTS):
                try:
                    hl7_inbound.apply(
                        self.ctx,
                        actor=actor,
                        message_id=message_id,
                        work=work,
                        acks=acks,
                        reason=f"HL7 v2 {header.message_type} {header.control_id} from "
                        f"{header.sending_application}@{header.sending_facility}",
                        patient_key=patient_key,
                    )
                    break
                except WardCareError as exc:
                    # Another writer created the same Location or Patient first: run the
                    # message again, and it finds theirs.
                    if exc.category != Category.CONFLICT or attempt == _ATTEMPTS - 1:
                        raise
        except MappingProblem as problem:
            return self._refuse(header, message_id, "AE", [_ack_error(problem)], patient_key)
        except MappingProblems as problems:
            errors = [_ack_error(p) for p in problems.problems]
            return self._refuse(header, message_id, "AE", errors, patient_key)
        except WardCareError as exc:
            if exc.category == Category.STORAGE:
                return self._storage_failed(header, exc)
            errors = [
                AckError("207" if exc.category == Category.CONFLICT else "102", i.message)
                for i in exc.issues
            ] or [AckError("207", exc.message)]
            return self._refuse(header, message_id, "AE", errors, patient_key)
        return acks

    def _refuse(
        self,
        header: Header,
        message_id: int,
        code: str,
        errors: list[AckError],
        patient_key: str | None,
    ) -> list[bytes]:
        acks = _acks(header, code, errors)
        status = message_log.ERROR if code == "AE" else message_log.REJECTED
        try:
            hl7_inbound.refuse(
                self.ctx,
                message_id=message_id,
                status=status,
                ack_code=code,
                acks=acks,
                error="; ".join(e.text for e in errors),
                patient_key=patient_key,
            )
        except WardCareError as exc:
            return self._storage_failed(header, exc)
        return acks

    def _unreadable(self, raw: bytes, problem: ParseProblem) -> list[bytes]:
        error = AckError(problem.code, problem.text, problem.location)
        header = salvage_header(_decoded(raw))
        acks = [build_ack(header, "AR", control_id=_ack_id(), errors=(error,))]
        try:
            keys = MessageKeys(None, None, None, None)
            claim = hl7_inbound.receive(self.ctx, raw=_text(raw), keys=keys)
            hl7_inbound.refuse(
                self.ctx,
                message_id=claim.message.id,
                status=message_log.REJECTED,
                ack_code="AR",
                acks=acks,
                error=problem.text,
            )
        except WardCareError:
            pass  # the AR already says it was not accepted; nothing else to keep
        return acks

    def _storage_failed(self, header: Header, exc: WardCareError) -> list[bytes]:
        error = AckError("207", f"The message could not be stored; send it again ({exc.message})")
        if header.enhanced_mode:
            return [build_ack(header, "CE", control_id=_ack_id(), errors=(error,))]
        return [build_ack(header, "AR", control_id=_ack_id(), errors=(error,))]


def _acks(header: Header, code: str, errors: list[AckError] | None = None) -> list[bytes]:
    found = tuple(errors or ())
    if not header.enhanced_mode:
        return [build_ack(header, code, control_id=_ack_id(), errors=found)]
    acks = []
    accepted = code != "AR"
    if _wanted(header.accept_ack_type, success=accepted):
        commit = "CA" if accepted else "CR"
        acks.append(
            build_ack(header, commit, control_id=_ack_id(), errors=() if accepted else found)
        )
    if accepted and _wanted(header.application_ack_type, success=code == "AA"):
        acks.append(build_ack(header, code, control_id=_ack_id(), errors=found))
    return acks


def _wanted(condition: str, *, success: bool) -> bool:
    """HL7 table 0155: AL always, NE never, ER on error only, SU on success only; an empty
    field beside a filled one is read as AL (the safer answer)."""
    kind = condition.upper() or "AL"
    return kind == "AL" or (kind == "SU" and success) or (kind == "ER" and not success)


def _ack_error(problem: MappingProblem) -> AckError:
    return AckError(problem.code, problem.text, problem.location)


def _processing_ids(setting: str) -> frozenset[str]:
    """WARDCARE_HL7_INBOUND_PROCESSING_IDS as a set (empty: every MSH-11 is accepted)."""
    return frozenset(p.strip().upper() for p in setting.split(",") if p.strip())


def _identifier_problems(message: ParsedMessage) -> list[DataProblem]:
    """Patient identifiers too long to match on exactly (cheap: one pass over PID-3, MRG-1)."""
    problems = []
    for name, field in (("PID", 3), ("MRG", 1)):
        for occurrence, segment in enumerate(message.all(name), start=1):
            for index in range(len(segment.repetitions(field))):
                value = segment.get(field, 1, repetition=index)
                if len(value) > MAX_IDENTIFIER_LENGTH:
                    problems.append(
                        DataProblem(
                            "102",
                            f"{name}-{field} identifier is {len(value)} characters long; "
                            f"WardCare matches patients on at most {MAX_IDENTIFIER_LENGTH}",
                            f"{name}^{occurrence}^{field}",
                        )
                    )
                    break
    return problems


def _patient_key(message: ParsedMessage) -> str | None:
    pid = message.first("PID")
    if pid is None or message.problems:
        return None
    try:
        key = patient_keys(pid).primary
    except MappingProblem:
        return None
    # An over-long identifier is refused (AE 102); it is neither logged nor locked on.
    return key if key is None or len(key) <= MAX_IDENTIFIER_LENGTH + 4 else None


def _decoded(raw: bytes) -> str:
    try:
        return decode(raw)
    except ParseProblem:
        return raw.decode("latin-1")


def _text(raw: bytes) -> str:
    """The message as logged: a NUL cannot be stored in a PostgreSQL text column, so it is
    logged as U+FFFD (such a message is refused, AR or AE, and never applied)."""
    text = _decoded(raw)
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _ack_id() -> str:
    return "WC" + uuid.uuid4().hex[:18]


def _nobody() -> Actor:
    return hl7_inbound.interface_actor("WARDCARE", "reprocess")
