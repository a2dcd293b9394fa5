"""MLLP framing (HL7 v2.5.1 Appendix C): any chunking gives the same frames; noise, restarts
and oversize frames are handled; and a fuzz test of framing + parsing + ACK: no crash, no hang,
never an AA/CA for input that is not a well-formed message."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hl7v2.inbound_support import sample
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.hl7v2.message_parsing import ParseProblem, parse
from wardcare.hl7v2.mllp_framing import Frame, MllpFrameDecoder, encode_frame
from wardcare.services.context import AppContext


def _feed_in_pieces(decoder: MllpFrameDecoder, data: bytes, cuts: list[int]) -> list[Frame]:
    frames: list[Frame] = []
    start = 0
    for cut in sorted(set(cuts)):
        frames += decoder.feed(data[start:cut])
        start = cut
    return frames + decoder.feed(data[start:])


@given(
    messages=st.lists(
        st.binary(max_size=200).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")),
        min_size=1,
        max_size=5,
    ),
    noise=st.binary(max_size=20).map(lambda b: b.replace(b"\x0b", b"")),
    cuts=st.lists(st.integers(min_value=0, max_value=1200), max_size=30),
)
def test_any_chunking_gives_the_same_frames(
    messages: list[bytes], noise: bytes, cuts: list[int]
) -> None:
    data = noise + b"".join(encode_frame(m) for m in messages)
    frames = _feed_in_pieces(MllpFrameDecoder(), data, cuts)
    assert [f.payload for f in frames] == messages
    assert not any(f.oversize for f in frames)


def test_bytes_before_a_start_block_are_skipped_and_counted() -> None:
    decoder = MllpFrameDecoder()
    assert decoder.feed(b"xyz" + encode_frame(b"MSH|1")) == [Frame(b"MSH|1")]
    assert decoder.skipped_bytes == 3


def test_a_new_start_block_abandons_an_unfinished_frame() -> None:
    decoder = MllpFrameDecoder()
    assert decoder.feed(b"\x0bMSH|half" + encode_frame(b"MSH|whole")) == [Frame(b"MSH|whole")]
    assert decoder.abandoned_frames == 1


def test_an_oversize_frame_keeps_only_its_head_and_the_stream_goes_on() -> None:
    decoder = MllpFrameDecoder(max_frame_size=8)
    data = encode_frame(b"MSH|" + b"A" * 100) + encode_frame(b"MSH|ok")
    frames = _feed_in_pieces(decoder, data, list(range(0, len(data), 7)))
    assert frames == [Frame(b"MSH|AAAA", oversize=True), Frame(b"MSH|ok")]


def test_eof_mid_frame_returns_nothing() -> None:
    decoder = MllpFrameDecoder()
    assert decoder.feed(b"\x0bMSH|never finished\x1c") == []
    assert decoder.in_frame


def test_cr_lf_and_crlf_segment_ends_read_the_same() -> None:
    message = sample("oru_r01_vitals.hl7")
    for ending in (b"\n", b"\r\n"):
        other = parse(message.replace(b"\r", ending))
        assert [s.name for s in other.segments] == [s.name for s in parse(message).segments]
        assert other.first("OBX") is not None


def test_escape_sequences_are_decoded() -> None:
    raw = (
        b"MSH|^~\\&|A|B|C|D|20261122||ADT^A08|1|P|2.3\r"
        b"PID|1||9434765919^^^NHS^NH||O\\S\\Brien\\T\\Co\\F\\x\\E\\y\\R\\z\\X41\\^Ann\r"
        b"ZXX|vendor|segment\r"
    )
    pid = parse(raw).first("PID")
    assert pid is not None
    assert pid.get(5, 1) == "O^Brien&Co|x\\y~zA"
    assert pid.get(5, 2) == "Ann"


def test_msh18_character_set_is_used_to_decode() -> None:
    raw = "MSH|^~\\&|A|B|C|D|20261122||ADT^A08|1|P|2.4|||||8859/1\rPID|1||x||Müller^Zoë\r"
    pid = parse(raw.encode("latin-1")).first("PID")
    assert pid is not None
    assert pid.get(5, 1) == "Müller"
    assert pid.get(5, 2) == "Zoë"


_MSH = b"MSH|^~\\&|FUZZ|LTH|WARDCARE|LTH|20261122083000||"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=200).map(lambda b: _MSH + b),
        st.sampled_from(
            [b"ADT^A01|X1|P|2.4\rPID|", b"ORU^R01|X2|P|9.9\r", b"|||", b"ADT^A01||P|2.4"]
        ).map(lambda b: _MSH + b),
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_fuzz_framing_and_parsing_never_crash_and_never_accept_garbage(
    context: AppContext, body: bytes, cuts: list[int]
) -> None:
    handler = InboundHandler(context)
    frames = _feed_in_pieces(MllpFrameDecoder(max_frame_size=1024), encode_frame(body), cuts)
    for received in frames:
        try:
            parse(received.payload)
            readable = True
        except ParseProblem:
            readable = False
        acks = handler.handle(received.payload)
        codes = [a.split(b"\r")[1].split(b"|")[1] for a in acks]
        assert codes, "every message is answered"
        if not readable:
            assert codes == [b"AR"]
        # No fuzzed message is a complete, applicable ADT or ORU: none is accepted.
        assert b"AA" not in codes


def test_a_long_first_line_without_msh18_is_read_in_linear_time() -> None:
    # A hostile or broken MSH (few separators, megabytes long) must not make the charset look-up
    # backtrack; parsing then refuses it (its MSH-2 is no set of encoding characters).
    raw = b"MSH" + b"|x" * 15 + b"y" * 2_000_000
    with pytest.raises(ParseProblem):
        parse(raw)
