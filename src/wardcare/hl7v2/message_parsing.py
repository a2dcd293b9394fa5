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


@dataclass(eq=False)
class ParseProblem(Exception):
    """Why a message cannot be read; `code` is from HL7 table 0357, `location` like PID^1^3."""

    code: str
    text: str
    location: str = ""

    def __str__(self) -> str:
        return self.text


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
                return bytes.fromhex(body[1:]).decode("latin-1")
            except ValueError:
                return ""
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
            control_id=msh.get(10),
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
    try:
        encoding, structure, version = get_message_info(first)
    except (HL7apyException, IndexError, ValueError) as exc:
        raise ParseProblem("100", f"The MSH segment cannot be read: {exc}", "MSH") from exc
    message = ParsedMessage(first, encoding, structure, version or "")
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
