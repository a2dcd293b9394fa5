"""Defects an earlier fuzz campaign found in the inbound path (issue 5), each as a test:
control characters, over-long fields, repeated OBX, over-long numbers, ACK escaping and
unreadable headers. Every ACK here is also read by an independent parser (python-hl7), and every
refused message changes nothing in the record."""

from __future__ import annotations

import dataclasses

import hl7
import pytest

from tests.hl7v2.inbound_support import current, sample
from tests.hl7v2.mllp_support import frame, running_listener, send_raw
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext

ADMIT = original_mode(sample("adt_a01_admit.hl7"))
VITALS = original_mode(sample("oru_r01_vitals.hl7"))
CLINICAL = ("Patient", "Encounter", "Observation", "AllergyIntolerance", "Condition")


def parsed_ack(ack: bytes) -> hl7.Message:
    """The ACK as python-hl7 reads it: a parse failure here means the ACK is malformed."""
    text = ack.decode("utf-8")
    assert text.startswith("MSH|^~\\&|")
    assert all(ord(c) >= 0x20 for c in text.replace("\r", "")), "control character in ACK"
    message = hl7.parse(text)
    assert [str(s[0]) for s in message][:2] == ["MSH", "MSA"]
    return message


def msa(ack: bytes) -> tuple[str, str]:
    """MSA-1 and MSA-2 (unescaped, as a sender's parser reads them)."""
    message = parsed_ack(ack)
    segment = message.segment("MSA")
    return str(segment[1]), message.unescape(str(segment[2]))


def errors(ack: bytes) -> list[tuple[str, str]]:
    """(ERR-3 code, ERR-2 location) of each ERR."""
    parsed_ack(ack)
    return [
        (s.split("|")[3].split("^")[0], s.split("|")[2])
        for s in ack.decode().split("\r")
        if s.startswith("ERR|")
    ]


def _nothing_clinical(context: AppContext, patients: int = 0) -> None:
    assert len(current(context, "Patient")) == patients
    for resource_type in CLINICAL[1:]:
        if patients == 0 or resource_type == "Observation":
            assert current(context, resource_type) == [], resource_type


def _with_msh(raw: bytes, field: int, value: bytes) -> bytes:
    first, rest = raw.split(b"\r", 1)
    fields = first.split(b"|")
    fields[field - 1] = value
    return b"|".join(fields) + b"\r" + rest


# -- 1. control characters ---------------------------------------------------------------


@pytest.mark.parametrize("char", [b"\x00", b"\x01", b"\x08", b"\x0c", b"\x1b", b"\x1c", b"\x7f"])
def test_a_control_character_in_a_result_is_ae_102_naming_the_field(
    context: AppContext, char: bytes
) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    bad = VITALS.replace(b"|8867-4^Heart rate^LN||112|", b"|8867-4^Heart rate^LN||1" + char + b"2|")
    [ack] = handler.handle(bad)
    assert msa(ack) == ("AE", "EOBS0000001")
    assert errors(ack) == [("102", "OBX^6^5")]
    _nothing_clinical(context, patients=1)


def test_a_nul_in_a_patient_name_is_ae_and_the_admission_not_applied(context: AppContext) -> None:
    [ack] = InboundHandler(context).handle(ADMIT.replace(b"Jones^Margaret", b"Jo\x00nes^Margaret"))
    assert msa(ack) == ("AE", "PAS000101")
    assert errors(ack) == [("102", "PID^1^5")]
    _nothing_clinical(context)


def test_a_nul_in_the_header_is_ar_and_msa_2_still_echoes_msh_10(context: AppContext) -> None:
    [ack] = InboundHandler(context).handle(_with_msh(ADMIT, 10, b"PAS\x00101"))
    assert msa(ack) == ("AR", "PAS\x00101")
    assert errors(ack) == [("102", "MSH^1^10")]
    _nothing_clinical(context)


def test_a_hex_escape_that_decodes_to_a_control_character_is_not_stored(
    context: AppContext,
) -> None:
    [ack] = InboundHandler(context).handle(
        ADMIT.replace(b"Jones^Margaret", b"Jo\\X00\\nes^Margaret")
    )
    assert msa(ack) == ("AE", "PAS000101")
    assert errors(ack) == [("102", "PID^1^5")]
    _nothing_clinical(context)


def test_the_connection_keeps_serving_after_control_characters(context: AppContext) -> None:
    with running_listener(context) as listener:
        acks = send_raw(
            listener.port,
            frame(_with_msh(ADMIT, 10, b"\x00\x01\x02"))
            + frame(ADMIT.replace(b"Margaret", b"Mar\x00garet").replace(b"PAS000101", b"PAS2"))
            + frame(ADMIT),
            acks=3,
        )
    assert [msa(a)[0] for a in acks] == ["AR", "AE", "AA"]
    assert len(current(context, "Patient")) == 1


# -- 2. over-long fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "length"),
    [(10, 500), (10, 200), (3, 5000), (4, 300), (9, 300)],
)
def test_an_over_long_header_field_is_ar_102_with_a_well_formed_ack(
    context: AppContext, field: int, length: int
) -> None:
    value = b"Y" * length if field != 9 else b"ADT^" + b"A" * length
    raw = _with_msh(ADMIT, field, value)
    [ack] = InboundHandler(context).handle(raw)
    code, echoed = msa(ack)
    assert code == "AR"
    assert echoed == (value.decode() if field == 10 else "PAS000101")
    assert errors(ack) == [("102", f"MSH^1^{field}")]
    _nothing_clinical(context)


def test_an_over_long_patient_identifier_is_ae_102(context: AppContext) -> None:
    long_mrn = b"RR" + b"9" * 300
    raw = ADMIT.replace(b"9434765919^^^NHS^NH~RR100001", long_mrn)
    [ack] = InboundHandler(context).handle(raw)
    assert msa(ack) == ("AE", "PAS000101")
    assert errors(ack) == [("102", "PID^1^3")]
    _nothing_clinical(context)


def test_an_over_long_patient_identifier_on_an_oru_is_ae_102(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    raw = VITALS.replace(b"9434765919^^^NHS^NH~RR100001", b"9434765919^^^NHS^NH~" + b"8" * 300)
    [ack] = handler.handle(raw)
    assert msa(ack) == ("AE", "EOBS0000001")
    assert ("102", "PID^1^3") in errors(ack)
    _nothing_clinical(context, patients=1)


# -- 3. repeated OBX -----------------------------------------------------------------------


def test_a_result_repeated_in_one_oru_is_ae_205(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    pulse = next(s for s in VITALS.split(b"\r") if b"8867-4" in s)
    again = pulse.replace(b"OBX|6|", b"OBX|9|").replace(b"||112|", b"||118|")
    [ack] = handler.handle(VITALS.replace(pulse, pulse + b"\r" + again))
    assert msa(ack) == ("AE", "EOBS0000001")
    assert errors(ack) == [("205", "OBX^7^3")]  # ERL.2: the 7th OBX of the message
    _nothing_clinical(context, patients=1)


def test_a_repeated_blood_pressure_component_is_ae_205(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    systolic = next(s for s in VITALS.split(b"\r") if b"8480-6" in s)
    again = systolic.replace(b"OBX|4|", b"OBX|9|")
    [ack] = handler.handle(VITALS.replace(systolic, systolic + b"\r" + again))
    assert msa(ack) == ("AE", "EOBS0000001")
    assert errors(ack) == [("205", "OBX^5^3")]
    _nothing_clinical(context, patients=1)


def test_the_same_code_with_distinct_sub_ids_is_two_results(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    pulse = next(s for s in VITALS.split(b"\r") if b"8867-4" in s)
    again = pulse.replace(b"OBX|6|", b"OBX|9|").replace(b"^LN||112|", b"^LN|2|118|")
    [ack] = handler.handle(VITALS.replace(pulse, pulse + b"\r" + again))
    assert msa(ack)[0] == "AA"


# -- 4. numbers longer than NM allows ----------------------------------------------------------


@pytest.mark.parametrize("value", [b"00000000000000112", b"112.0000000000000", b"9" * 5000])
def test_a_number_longer_than_16_characters_is_ae_102_naming_obx_5(
    context: AppContext, value: bytes
) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    [ack] = handler.handle(VITALS.replace(b"^LN||112|", b"^LN||" + value + b"|"))
    assert msa(ack) == ("AE", "EOBS0000001")
    assert errors(ack) == [("102", "OBX^6^5")]
    _nothing_clinical(context, patients=1)


def test_a_16_character_number_is_read(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    [ack] = handler.handle(VITALS.replace(b"^LN||112|", b"^LN||0000000000112.0|"))
    assert msa(ack)[0] == "AA"


# -- 5. escaping in the ACK ------------------------------------------------------------------


@pytest.mark.parametrize(
    "control_id",
    [b"A\\F\\B", b"A\\S\\B\\T\\C", b"R\\R\\E\\E\\", b"X\\X0D\\Y", b"X\\X0B1C\\Y", b"A&B"],
)
def test_msa_2_echoes_msh_10_escaped_so_the_ack_parses(
    context: AppContext, control_id: bytes
) -> None:
    sent = hl7.parse(_with_msh(ADMIT, 10, control_id).decode("latin-1"))
    expected = sent.unescape(str(sent.segment("MSH")[10]))
    [ack] = InboundHandler(context).handle(_with_msh(ADMIT, 10, control_id))
    # CR and LF are text; VT and FS escaped in MSH-10 are control characters (AR 102).
    assert msa(ack) == ("AR" if b"X0B" in control_id else "AA", expected)


def test_echoed_header_fields_and_error_text_are_escaped(context: AppContext) -> None:
    raw = _with_msh(ADMIT, 3, b"P\\F\\AS")
    raw = _with_msh(raw, 9, b"ADT^Z\\F\\9")  # unsupported trigger event, echoed in MSH-9
    [ack] = InboundHandler(context).handle(raw)
    message = parsed_ack(ack)
    assert message.unescape(str(message.segment("MSH")[5])) == "P|AS"
    assert str(message.segment("MSA")[1]) == "AR"
    assert errors(ack) == [("201", "MSH^1^9")]


def test_a_location_taken_from_the_message_is_escaped(context: AppContext) -> None:
    handler = InboundHandler(context)
    handler.handle(ADMIT)
    [ack] = handler.handle(
        VITALS.replace(b"OBX|6|NM|", b"OBX|6\\F\\7|NM|").replace(b"||112|", b"||x|")
    )
    assert msa(ack)[0] == "AE"
    # ERL.2 is the OBX's occurrence in the message (2.A.27.2), not its OBX-1 as sent.
    assert errors(ack) == [("102", "OBX^6^5")]


# -- 8. an unreadable message still gets an ACK echoing what could be read --------------------


def test_an_unreadable_header_is_ar_echoing_what_could_be_read(context: AppContext) -> None:
    raw = b"MSH|^~|PAS|LTH|WARDCARE|WARD|20261122083000||ADT^A01|PAS000777|P|2.5.1\rPID|1\r"
    [ack] = InboundHandler(context).handle(raw)
    message = parsed_ack(ack)
    msh = message.segment("MSH")
    assert [str(msh[i]) for i in (3, 4, 5, 6)] == ["WARDCARE", "WARD", "PAS", "LTH"]
    assert msa(ack) == ("AR", "PAS000777")
    assert errors(ack)[0][0] == "100"


def test_garbage_is_ar_with_an_empty_msa_2(context: AppContext) -> None:
    [ack] = InboundHandler(context).handle(b"\x00\x01garbage|||\r")
    assert msa(ack) == ("AR", "")
    assert errors(ack)[0][0] == "100"


# -- 7. MSH-11 processing id ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "processing_id", "code"),
    [("", "T", "AA"), ("P", "P", "AA"), ("P", "T", "AR"), ("T,D", "P", "AR"), ("t, d", "D", "AA")],
)
def test_processing_ids_accepted_per_configuration(
    context: AppContext, accepted: str, processing_id: str, code: str
) -> None:
    settings = context.settings.model_copy(update={"hl7_inbound_processing_ids": accepted})
    handler = InboundHandler(dataclasses.replace(context, settings=settings))
    [ack] = handler.handle(_with_msh(ADMIT, 11, processing_id.encode()))
    assert msa(ack) == (code, "PAS000101")
    if code == "AR":
        assert errors(ack) == [("202", "MSH^1^11")]
        _nothing_clinical(context)
