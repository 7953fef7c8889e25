r"""An ER7-encoded HL7 v2 message as typed, read-only segments (v2.5.1 chapter 2.5-2.7).

:func:`parse` decodes the bytes (MSH-18 character set), accepts ``\r``, ``\r\n`` or
``\n`` between segments, reads the header through hl7apy, and splits every segment into
fields, repetitions, components and subcomponents with the message's own delimiters,
decoding escape sequences last. ``""`` (the HL7 explicit null) reads as empty. Fields are
split when first read, and the splits of short values are shared across messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import TypeAlias

from fhir_server.ingest.spec import MappingError, SegmentLocation
from mappers.hl7v2._hl7apy import Delimiters, has_definitions, read_header
from mappers.hl7v2.escape import unescape

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_FRAMING = "\x0b\x1c\x0d\n \t"
_CHARSETS = {
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "8859/1": "latin-1",
    "8859/15": "iso-8859-15",
    "ASCII": "ascii",
}
FIRST_VERSION, LAST_VERSION = (2, 3), (2, 8)
MEDIA_TYPES = frozenset(
    {"application/hl7-v2", "application/hl7-v2+er7", "x-application/hl7-v2+er7"}
)


@dataclass(frozen=True, slots=True)
class Composite:
    """One repetition of a field: its components, each a tuple of subcomponents."""

    components: tuple[tuple[str, ...], ...]

    def get(self, component: int = 1, subcomponent: int = 1) -> str:
        """A component (or subcomponent) value, 1-based; empty when absent."""
        if component > len(self.components):
            return ""
        subcomponents = self.components[component - 1]
        return subcomponents[subcomponent - 1] if subcomponent <= len(subcomponents) else ""

    def subcomponents(self, component: int) -> tuple[str, ...]:
        """All subcomponents of a component, 1-based; empty when absent."""
        if component > len(self.components):
            return ()
        return self.components[component - 1]

    @property
    def empty(self) -> bool:
        """True when no component holds a value."""
        return not any(map(any, self.components))


_EMPTY = Composite(())


def _composite(repetition: str, d: Delimiters) -> Composite | None:
    """One repetition split and decoded; None when it holds no value."""
    if d.subcomponent not in repetition and d.escape not in repetition:
        # The common case: no subcomponents, no escape sequences, so no decoding.
        if d.component not in repetition:
            empty = not repetition or repetition == '""'
            return None if empty else Composite(((repetition,),))
        parts = repetition.split(d.component)
        if '""' in repetition:
            parts = ["" if p == '""' else p for p in parts]
        return Composite(tuple([(p,) for p in parts])) if any(parts) else None
    composite = Composite(
        tuple(
            [
                tuple(["" if s == '""' else unescape(s, d) for s in c.split(d.subcomponent)])
                for c in repetition.split(d.component)
            ]
        )
    )
    return None if composite.empty else composite


def _split_field(raw: str, d: Delimiters) -> tuple[Composite, ...]:
    """The non-empty repetitions of a field as written."""
    if not raw or raw == '""':
        return ()
    if d.repetition not in raw:
        single = _composite(raw, d)
        return () if single is None else (single,)
    split = [_composite(r, d) for r in raw.split(d.repetition)]
    return tuple([c for c in split if c is not None])


_SHARED_LENGTH = 64
"""The longest field value whose split is shared across messages."""

FieldSplitter: TypeAlias = Callable[[str], tuple[Composite, ...]]


@lru_cache(maxsize=16)
def shared_splitter(delimiters: Delimiters) -> FieldSplitter:
    """Field splitting with ``delimiters``, memoised for every message that uses them.

    Messages repeat most field values (value types, codes, units, statuses, the time every
    OBX of a message gives) and a split is immutable, so the splits of short values are
    memoised (the 4096 most recently used) and shared by every segment and message written
    with the same delimiters. :class:`Segment` splits long values (ED data, narrative text)
    itself, so the memo stays small.
    """
    return lru_cache(maxsize=4096)(partial(_split_field, d=delimiters))


@lru_cache(maxsize=1024)
def _location(
    segment: str, occurrence: int, field: int | None, component: int | None
) -> SegmentLocation:
    """A position, shared: mappers pass one along with every value they convert."""
    return SegmentLocation(segment, occurrence, field, component)


@dataclass(slots=True)
class Segment:
    """One segment; ``fields[n]`` is field n as written (``fields[0]`` is the id).

    Read-only by convention: not frozen, since a frozen dataclass costs three times as much
    to create and a message makes one per line. ``shared_split`` is the
    :func:`shared_splitter` of ``delimiters``. Split fields are memoised in ``_split``:
    mappers read OBX-3 or PID-3 several times. Field access is the mappers' hottest path,
    so the accessors read the memo directly.
    """

    name: str
    fields: tuple[str, ...]
    occurrence: int
    delimiters: Delimiters
    shared_split: FieldSplitter = field(compare=False, repr=False)
    _split: dict[int, tuple[Composite, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def raw(self, n: int) -> str:
        """Field ``n`` as written, escape sequences undecoded; empty when absent."""
        value = self.fields[n] if n < len(self.fields) else ""
        return "" if value == '""' else value

    def repetitions(self, n: int) -> tuple[Composite, ...]:
        """The non-empty repetitions of field ``n``."""
        reps = self._split.get(n)
        return self._split_and_keep(n) if reps is None else reps

    def first(self, n: int) -> Composite:
        """The first repetition of field ``n`` (an empty composite when absent)."""
        reps = self._split.get(n)
        if reps is None:
            reps = self._split_and_keep(n)
        return reps[0] if reps else _EMPTY

    def text(self, n: int, component: int = 1, subcomponent: int = 1) -> str:
        """A value of the first repetition of field ``n``, stripped."""
        reps = self._split.get(n)
        if reps is None:
            reps = self._split_and_keep(n)
        if not reps:
            return ""
        components = reps[0].components  # Composite.get, inlined
        if component > len(components):
            return ""
        subcomponents = components[component - 1]
        return subcomponents[subcomponent - 1].strip() if subcomponent <= len(subcomponents) else ""

    def location(self, field: int | None = None, component: int | None = None) -> SegmentLocation:
        """This segment's position, for error reports."""
        return _location(self.name, self.occurrence, field, component)

    def _split_and_keep(self, n: int) -> tuple[Composite, ...]:
        raw = self.fields[n] if n < len(self.fields) else ""
        if not raw:
            return ()
        if len(raw) > _SHARED_LENGTH:
            reps = self._split[n] = _split_field(raw, self.delimiters)
        else:
            reps = self._split[n] = self.shared_split(raw)
        return reps


@dataclass(frozen=True, slots=True)
class Message:
    """A parsed message: its segments in order and what MSH says about it."""

    segments: tuple[Segment, ...]
    delimiters: Delimiters
    version: str

    @property
    def msh(self) -> Segment:
        """The header segment."""
        return self.segments[0]

    @property
    def message_type(self) -> str:
        """MSH-9 as ``CODE^EVENT`` (e.g. ``ORU^R01``)."""
        return f"{self.msh.text(9, 1).upper()}^{self.msh.text(9, 2).upper()}"

    def all(self, name: str) -> Iterator[Segment]:
        """Every segment called ``name``, in order."""
        return (s for s in self.segments if s.name == name)

    def find(self, name: str) -> Segment | None:
        """The first segment called ``name``, if any."""
        return next(self.all(name), None)

    def require(self, name: str) -> Segment:
        """The first segment called ``name``; a MappingError when there is none."""
        segment = self.find(name)
        if segment is None:
            raise MappingError(
                f"{self.message_type} has no {name} segment",
                code="required-missing",
                location=SegmentLocation(name),
            )
        return segment


def _decode(payload: bytes) -> str:
    head = payload[:1024].split(b"\r", 1)[0].split(b"\n", 1)[0].decode("latin-1")
    fields = head.split(head[3:4]) if head.startswith("MSH") and len(head) > 3 else []
    component = fields[1][:1] if len(fields) > 1 else "^"
    declared = fields[17].split(component)[0].strip().upper() if len(fields) > 17 else ""
    codec = _CHARSETS.get(declared)
    if codec is None:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload.decode("latin-1")
    try:
        return payload.decode(codec)
    except UnicodeDecodeError as exc:
        raise MappingError(
            f"payload is not valid {declared}: {exc.reason} at byte {exc.start}",
            code="malformed",
            location=SegmentLocation("MSH", field=18),
        ) from exc


@lru_cache(maxsize=64)
def _check_version(version: str | None) -> str:
    parts = tuple(int(p) for p in (version or "").split(".") if p.isdigit())
    if (
        not version
        or not has_definitions(version)
        or not FIRST_VERSION <= parts[:2] <= LAST_VERSION
    ):
        raise MappingError(
            f"unsupported HL7 version {version!r}; versions 2.3 to 2.8 are accepted",
            code="unsupported-version",
            location=SegmentLocation("MSH", field=12),
        )
    return version


@lru_cache(maxsize=256)
def _is_segment_id(name: str) -> bool:
    return _SEGMENT_ID.match(name) is not None


def _segment(
    line: str, d: Delimiters, shared_split: FieldSplitter, counts: dict[str, int], index: int
) -> Segment:
    name = line[:3]
    if not _is_segment_id(name) or (len(line) > 3 and line[3] != d.field):
        raise MappingError(
            f"segment {index} does not start with a segment id: {line[:20]!r}",
            code="malformed",
            location=SegmentLocation(name if _is_segment_id(name) else "???", 1),
        )
    counts[name] = counts.get(name, 0) + 1
    fields = line.split(d.field)
    if name == "MSH":
        fields = [name, d.field, *fields[1:]]
    return Segment(name, tuple(fields), counts[name], d, shared_split)


def parse(payload: bytes) -> Message:
    """Parse one ER7-encoded message.

    Raises:
        MappingError: when the payload is not an HL7 v2.3-2.8 message.
    """
    text = _decode(payload).strip(_FRAMING)
    lines = [s for s in text.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s.strip()]
    if not lines or not lines[0].startswith("MSH"):
        raise MappingError(
            "not an HL7 v2 message: it must start with an MSH segment",
            code="malformed",
            location=SegmentLocation("MSH"),
        )
    header = read_header("\r".join(lines))
    version = _check_version(header.version)
    counts: dict[str, int] = {}
    shared_split = shared_splitter(header.delimiters)
    segments = tuple(
        [
            _segment(line, header.delimiters, shared_split, counts, i)
            for i, line in enumerate(lines, 1)
        ]
    )
    message = Message(segments, header.delimiters, version)
    if not message.msh.text(9, 1) or not message.msh.text(9, 2):
        raise MappingError(
            "MSH-9 must give a message code and trigger event",
            code="required-missing",
            location=SegmentLocation("MSH", field=9),
        )
    return message
