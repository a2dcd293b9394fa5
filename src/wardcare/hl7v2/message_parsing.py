"""Reading an HL7 v2 message (ER7 encoding), versions 2.3 to 2.5.1.

hl7apy reads the MSH (`hl7apy.parser.get_message_info`: encoding characters, message structure,
version; it refuses what is not an HL7 message). Its full parse is not used on the hot path: it
builds and validates a tree of every field, component and sub-component (~70 ms for an ORU with
8 OBX here; cProfile puts most of it in `Element.__setattr__` and per-child reference look-ups,
see docs/benchmarks.md), and it leaves escape sequences undecoded anyway. WardCare instead
splits segments and fields on the separators hl7apy found, as hl7apy's own `parse_fields`
does, and reads only the fields a mapping asks for, decoding escapes as it reads them
(HL7 v2.5.1 chapter 2, 2.7 "Use of escape sequences in text fields").

Tolerated, because real senders do it: CR, LF or CRLF segment ends (2.5.1 says CR); Z-segments
and any other segment this module is not asked about; MSH-18 character sets (the bytes are
decoded with the set MSH-18 names before splitting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hl7apy.exceptions import HL7apyException
from hl7apy.parser import get_message_info

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")

# MSH-18 (HL7 table 0211) -> Python codec. An empty MSH-18 means ASCII (2.5.1 2.15.9.18); UTF-8
# is a superset, and senders that leave it empty often send UTF-8.
_CHARSETS = {
    "": "utf-8",
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/5": "iso8859-5",
    "8859/7": "iso8859-7",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UNICODE": "utf-8",
    "UTF-8": "utf-8",
    "WINDOWS-1252": "cp1252",
}


# C0 control characters other than CR, LF (segment ends) and TAB, and DEL. HL7 v2.5.1 2.A.74 ST
# and 2.A.79 TX allow displayable characters only; none of these is one, and a NUL cannot even
# be stored in a PostgreSQL text column. A message carrying one was damaged on the way: it is
# refused (AR in MSH, AE elsewhere), never stored with the character dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HEX_ESCAPE = re.compile(r"X([0-9A-Fa-f]+)$")
# Longest MSH values WardCare logs and keys on (the columns of hl7_inbound_messages): MSH-3/4
# HD 227 (HL7 v2.5.1 2.15.9.3/4); MSH-10 199 (v2.7's length; 2.5.1 says 20, and longer ids from
# real senders are accepted); MSH-9 as code^trigger 32 (2.5.1 MSG is 15).
MAX_HEADER_LENGTHS = {3: 227, 4: 227, 5: 227, 6: 227, 9: 32, 10: 199}


@dataclass(eq=False)
class ParseProblem(Exception):
    """Why a message cannot be read; `code` is from HL7 table 0357, `location` like PID^1^3."""

    code: str
    text: str
    location: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False)
class DataProblem:
    """A readable message whose content cannot be applied as sent (AE): a control character,
    an over-long key. `code` is from HL7 table 0357, `location` an ERL (2.5.1 2.A.27)."""

    code: str
    text: str
    location: str = ""


class Segment:
    """One segment: fields are read on demand, with escape sequences decoded."""

    __slots__ = ("_fields", "_msg", "name")

    def __init__(self, text: str, message: ParsedMessage) -> None:
        self._msg = message
        self._fields = text.split(message.field_sep)
        self.name = self._fields[0]

    def raw(self, field: int) -> str:
        """Field `field` as sent (escapes not decoded, repetitions not split)."""
        # MSH-1 is the field separator itself, so MSH field n is at split index n - 1.
        index = field - 1 if self.name == "MSH" else field
        if index < 1 and self.name == "MSH":
            return self._msg.field_sep if field == 1 else ""
        return self._fields[index] if 0 < index < len(self._fields) else ""

    def repetitions(self, field: int) -> list[str]:
        value = self.raw(field)
        return value.split(self._msg.repetition_sep) if value else []

    def get(
        self, field: int, component: int = 1, subcomponent: int = 1, repetition: int = 0
    ) -> str:
        """One decoded value, e.g. ``get(5, 1)`` is PID-5.1 (the family name)."""
        reps = self.repetitions(field)
        if repetition >= len(reps):
            return ""
        return self._msg.component(reps[repetition], component, subcomponent)


class ParsedMessage:
    def __init__(self, text: str, encoding: dict[str, str], structure: str | None, version: str):
        self.field_sep = encoding["FIELD"]
        self.component_sep = encoding["COMPONENT"]
        self.repetition_sep = encoding["REPETITION"]
        self.escape = encoding["ESCAPE"]
        self.subcomponent_sep = encoding["SUBCOMPONENT"]
        self.version = version
        self.structure = structure
        lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
        self.segments = [Segment(line, self) for line in lines if line.strip()]
        self.msh = self.segments[0]
        # What makes the message unusable as sent though it can be read (answered AE).
        self.problems: list[DataProblem] = []
        # Only to echo an unreadable message's MSH-10 exactly (salvage_header).
        self.keep_controls = False

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def component(self, value: str, component: int = 1, subcomponent: int = 1) -> str:
        parts = value.split(self.component_sep)
        if component > len(parts):
            return ""
        subs = parts[component - 1].split(self.subcomponent_sep)
        return self.unescape(subs[subcomponent - 1]) if subcomponent <= len(subs) else ""

    def unescape(self, value: str) -> str:
        """Decode \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\; drop highlighting and charset
        switches (\\H\\ \\N\\ \\C..\\ \\M..\\), which carry no text (2.5.1 2.7)."""
        esc = self.escape
        if esc not in value:
            return value
        out: list[str] = []
        parts = value.split(esc)
        # Text and escape bodies alternate; an unpaired trailing escape char is literal.
        for index, part in enumerate(parts):
            if index % 2 == 0:
                out.append(part)
            elif index == len(parts) - 1:
                out.append(esc + part)
            else:
                out.append(self._escape_body(part))
        return "".join(out)

    def _escape_body(self, body: str) -> str:
        simple = {
            "F": self.field_sep,
            "S": self.component_sep,
            "T": self.subcomponent_sep,
            "R": self.repetition_sep,
            "E": self.escape,
            ".br": "\n",
            "H": "",
            "N": "",
        }
        if body in simple:
            return simple[body]
        if body.startswith("X") and len(body) % 2 == 1:
            try:
                decoded = bytes.fromhex(body[1:]).decode("latin-1")
            except ValueError:
                return ""
            # A control character escaped as \Xhh\ is refused before mapping (control_problems);
            # dropped here too so that no path can store one.
            return decoded if self.keep_controls else _CONTROL.sub("", decoded)
        return ""  # \Cxxyy\, \Mxxyyzz\, \Zxx\: character-set and locally defined switches

    # -- MSH -----------------------------------------------------------------------------

    def header(self) -> Header:
        msh = self.msh
        return Header(
            sending_application=msh.get(3),
            sending_facility=msh.get(4),
            receiving_application=msh.get(5),
            receiving_facility=msh.get(6),
            message_time=msh.get(7),
            message_code=msh.get(9, 1),
            trigger_event=msh.get(9, 2),
            # MSH-10 is ST (no components): the whole field, so MSA-2 echoes all of it.
            control_id=self.unescape(msh.raw(10)),
            processing_id=msh.get(11),
            version=self.version,
            accept_ack_type=msh.get(15),
            application_ack_type=msh.get(16),
        )


@dataclass(frozen=True)
class Header:
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_time: str
    message_code: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str
    accept_ack_type: str
    application_ack_type: str

    @property
    def message_type(self) -> str:
        return f"{self.message_code}^{self.trigger_event}"

    @property
    def enhanced_mode(self) -> bool:
        """MSH-15/16 present: enhanced acknowledgement mode (2.5.1 2.9.3)."""
        return bool(self.accept_ack_type or self.application_ack_type)


def decode(raw: bytes) -> str:
    """The message text, decoded with the character set MSH-18 names."""
    charset = _declared_charset(raw)
    codec = _CHARSETS.get(charset)
    if codec is None:
        raise ParseProblem(
            "203", f"Character set {charset!r} (MSH-18) is not supported", "MSH^1^18"
        )
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        if codec in ("utf-8", "ascii"):  # a sender that declared nothing but sent Latin-1
            return raw.decode("latin-1")
        raise ParseProblem("102", f"The message is not valid {charset}", "MSH^1^18") from None


def _declared_charset(raw: bytes) -> str:
    """MSH-18, read from the bytes before decoding (its first component; MSH-18 is ASCII)."""
    first = raw.lstrip(b"\r\n\t \x00").split(b"\r", 1)[0].split(b"\n", 1)[0]
    if not first.startswith(b"MSH") or len(first) < 4:
        return ""
    fields = first.split(first[3:4])
    if len(fields) < 18:
        return ""
    component = fields[17].split(fields[1][:1] or b"^")[0] if fields[1] else fields[17]
    return component.decode("ascii", "replace").strip().upper()


def parse(raw: bytes) -> ParsedMessage:
    """Read the MSH and split the message; raises ParseProblem for what cannot be accepted."""
    return parse_text(decode(raw))


def parse_text(decoded: str) -> ParsedMessage:
    text = decoded.lstrip("\r\n\t \x00")
    if not text.startswith("MSH"):
        raise ParseProblem("100", "The message does not start with an MSH segment", "MSH")
    first = text.replace("\r\n", "\r").replace("\n", "\r")
    msh_end = first.find("\r")
    msh_text = first if msh_end < 0 else first[:msh_end]
    bad = _CONTROL.search(msh_text)
    if bad is not None:  # before hl7apy, which reads a NUL as part of the version
        raise ParseProblem(
            "102",
            f"MSH contains the control character {_char_name(bad.group())} (HL7 v2.5.1 2.A.74)",
            f"MSH^1^{msh_text.count(msh_text[3:4], 0, bad.start()) + 1}"
            if len(msh_text) > 3
            else "MSH",
        )
    try:
        encoding, structure, version = get_message_info(first)
    except (HL7apyException, IndexError, ValueError, KeyError, TypeError) as exc:
        raise ParseProblem("100", f"The MSH segment cannot be read: {exc}", "MSH") from exc
    message = ParsedMessage(first, encoding, structure, version or "")
    for number, limit in MAX_HEADER_LENGTHS.items():
        if len(message.msh.raw(number)) > limit:
            raise ParseProblem(
                "102",
                f"MSH-{number} is {len(message.msh.raw(number))} characters long; WardCare "
                f"accepts at most {limit}",
                f"MSH^1^{number}",
            )
    control = message.msh.raw(10)
    if _escapes_control(control, message.escape):
        raise ParseProblem(
            "102", "MSH-10 escapes a control character (HL7 v2.5.1 2.A.74)", "MSH^1^10"
        )
    message.problems.extend(control_problems(message, first, msh_end))
    header = message.header()
    if not header.control_id:
        raise ParseProblem("101", "MSH-10 (message control id) is empty", "MSH^1^10")
    if not header.message_code or not header.trigger_event:
        raise ParseProblem("101", "MSH-9 must give the message code and trigger event", "MSH^1^9")
    if header.version not in SUPPORTED_VERSIONS:
        raise ParseProblem(
            "203",
            f"HL7 version {header.version or '(none)'} is not supported (2.3 to 2.5.1)",
            "MSH^1^12",
        )
    return message


def _char_name(char: str) -> str:
    return f"0x{ord(char):02X}"


def _escapes_control(value: str, escape: str) -> bool:
    """True when `value` holds a \\Xhh..\\ escape (2.5.1 2.7.3) that decodes to a control
    character."""
    if escape + "X" not in value:
        return False
    parts = value.split(escape)
    for body in parts[1 : len(parts) - 1 : 2]:  # escape bodies; an unpaired one is literal
        match = _HEX_ESCAPE.match(body)
        hexdigits = match.group(1) if match else ""
        if len(hexdigits) % 2 == 0 and _CONTROL.search(bytes.fromhex(hexdigits).decode("latin-1")):
            return True
    return False


def control_problems(message: ParsedMessage, text: str, msh_end: int) -> list[DataProblem]:
    """A DataProblem (102) per field after the MSH holding a control character, sent as it is
    or hex-escaped. One scan of the whole text first: clean messages pay nothing more."""
    if msh_end < 0 or (
        _CONTROL.search(text, msh_end) is None and message.escape + "X" not in text[msh_end:]
    ):
        return []
    problems: list[DataProblem] = []
    seen: dict[str, int] = {}
    for segment in message.segments[1:]:
        # ERL.2 is the segment's occurrence in the message (HL7 v2.5.1 2.A.27.2).
        occurrence = seen[segment.name] = seen.get(segment.name, 0) + 1
        for number, value in enumerate(segment._fields):
            if _CONTROL.search(value) or _escapes_control(value, message.escape):
                found = _CONTROL.search(value)
                what = (
                    f"the control character {_char_name(found.group())}"
                    if found
                    else ("an escaped control character")
                )
                problems.append(
                    DataProblem(
                        "102",
                        f"{segment.name}-{number} contains {what} (HL7 v2.5.1 2.A.74); the "
                        "message was damaged on the way or at its source",
                        f"{segment.name}^{occurrence}^{number}",
                    )
                )
                if len(problems) >= 10:
                    return problems
    return problems


_DEFAULT_ENCODING = {
    "FIELD": "|",
    "COMPONENT": "^",
    "REPETITION": "~",
    "ESCAPE": "\\",
    "SUBCOMPONENT": "&",
}


def salvage_header(text: str) -> Header | None:
    """Whatever MSH-3..6, MSH-9..11 an unreadable message's first segment gives, read without
    hl7apy, so that its AR still names the sender and echoes MSH-10 (HL7 v2.5.1 2.9.2: MSA-2
    echoes MSH-10). None when it does not even start with MSH and a field separator."""
    first = text.lstrip("\r\n\t \x00").replace("\n", "\r").split("\r", 1)[0]
    if not first.startswith("MSH") or len(first) < 5 or first[3].isalnum() or first[3] == " ":
        return None
    encoding = {**_DEFAULT_ENCODING, "FIELD": first[3]}
    chars = first[4:].split(first[3], 1)[0]
    for index, name in enumerate(("COMPONENT", "REPETITION", "ESCAPE", "SUBCOMPONENT")):
        if (
            index < len(chars)
            and not chars[index].isalnum()
            and chars[index] not in encoding.values()
        ):
            encoding[name] = chars[index]
    message = ParsedMessage(first, encoding, None, "")
    message.keep_controls = True
    header = message.header()
    version = message.msh.get(12)
    cut = MAX_HEADER_LENGTHS[3]  # HD, 227: a longer value is not echoed whole (MSH-10 is)
    return Header(
        sending_application=header.sending_application[:cut],
        sending_facility=header.sending_facility[:cut],
        receiving_application=header.receiving_application[:cut],
        receiving_facility=header.receiving_facility[:cut],
        message_time="",
        message_code="",
        trigger_event="",
        control_id=header.control_id,
        processing_id=header.processing_id if header.processing_id in ("P", "D", "T") else "",
        version=version if version in SUPPORTED_VERSIONS else "",
        accept_ack_type="",
        application_ack_type="",
    )
