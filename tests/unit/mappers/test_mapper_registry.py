from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar

import pytest

from fhir_server.ingest import registry
from fhir_server.ingest.registry import GROUP, MapperRegistry, discover
from fhir_server.ingest.spec import MapContext, MappedMessage
from mappers.devices.mapper import TemplateMapper
from mappers.hl7v2.adt import AdtMapper
from mappers.hl7v2.oru import OruMapper


def _mapper(name: str, message_types: frozenset[str]) -> Any:
    class _Mapper:
        media_types: ClassVar[frozenset[str]] = frozenset({"application/hl7-v2"})

        def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
            return MappedMessage("k", ())

    _Mapper.name = name  # type: ignore[attr-defined]
    _Mapper.message_types = message_types  # type: ignore[attr-defined]
    return _Mapper


ORU = _mapper("oru", frozenset({"ORU^R01"}))
ADT_ANY = _mapper("adt-any", frozenset({"ADT^*"}))
ANYTHING = _mapper("anything", frozenset({"*"}))


class _NoMap:
    name: ClassVar[str] = "no-map"
    media_types: ClassVar[frozenset[str]] = frozenset()
    message_types: ClassVar[frozenset[str]] = frozenset()


class _BadDeclaration:
    name: ClassVar[str] = "bad"
    media_types: ClassVar[list[str]] = ["application/json"]
    message_types: ClassVar[frozenset[str]] = frozenset()

    def map(self, payload: bytes, ctx: MapContext) -> MappedMessage:
        return MappedMessage("k", ())


class _Exploding:
    def __init__(self) -> None:
        raise RuntimeError("needs configuration")


@dataclass
class FakeEntryPoint:
    name: str
    loader: Callable[[], object]
    value: str = "fake:Fake"

    def load(self) -> object:
        return self.loader()


def _broken_import() -> object:
    raise ImportError("No module named 'vendor_sdk'")


def _install(monkeypatch: pytest.MonkeyPatch, *eps: FakeEntryPoint) -> None:
    def fake(*, group: str) -> list[FakeEntryPoint]:
        assert group == GROUP
        return list(eps)

    monkeypatch.setattr(registry, "entry_points", fake)


def test_get_returns_the_mapper_by_name_or_none() -> None:
    oru = ORU()
    reg = MapperRegistry({"oru": oru})
    assert reg.get("oru") is oru
    assert reg.get("adt") is None
    assert reg.names() == ("oru",)


@pytest.mark.parametrize(
    ("message_type", "expected"),
    [
        ("ORU^R01", "oru"),
        ("oru^r01^ORU_R01", "oru"),
        ("ADT^A08", "adt-any"),
        ("ORM^O01", "anything"),
    ],
)
def test_for_message_type_prefers_the_most_specific_declaration(
    message_type: str, expected: str
) -> None:
    reg = MapperRegistry({"anything": ANYTHING(), "adt-any": ADT_ANY(), "oru": ORU()})
    mapper = reg.for_message_type(message_type)
    assert mapper is not None
    assert mapper.name == expected


def test_for_message_type_without_a_candidate_is_none() -> None:
    assert MapperRegistry({"oru": ORU()}).for_message_type("ADT^A01") is None


def test_discover_loads_classes_instances_and_factories(monkeypatch: pytest.MonkeyPatch) -> None:
    instance = ADT_ANY()
    _install(
        monkeypatch,
        FakeEntryPoint("oru", lambda: ORU),
        FakeEntryPoint("adt-any", lambda: instance),
        FakeEntryPoint("anything", lambda: ANYTHING),
    )
    reg = discover(None)
    assert reg.names() == ("oru", "adt-any", "anything")
    assert reg.get("adt-any") is instance
    assert isinstance(reg.get("oru"), ORU)


@pytest.mark.parametrize(
    ("entry_point", "warning"),
    [
        (FakeEntryPoint("broken", _broken_import), "failed to load"),
        (FakeEntryPoint("exploding", lambda: _Exploding), "could not be instantiated"),
        (FakeEntryPoint("no-map", lambda: _NoMap), "does not satisfy"),
        (FakeEntryPoint("bad", lambda: _BadDeclaration), "does not satisfy"),
        (FakeEntryPoint("constant", lambda: 42), "does not satisfy"),
    ],
)
def test_discover_skips_a_bad_plugin_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    entry_point: FakeEntryPoint,
    warning: str,
) -> None:
    _install(monkeypatch, entry_point, FakeEntryPoint("oru", lambda: ORU))
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        reg = discover(None)
    assert reg.names() == ("oru",)
    assert warning in caplog.text
    assert entry_point.name in caplog.text


def test_discover_keeps_the_first_of_two_plugins_with_one_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _install(monkeypatch, FakeEntryPoint("x", lambda: ORU), FakeEntryPoint("x", lambda: ANYTHING))
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        reg = discover(None)
    assert isinstance(reg.get("x"), ORU)
    assert "registered twice" in caplog.text


@pytest.mark.parametrize(
    ("allow", "expected"),
    [(None, ("oru", "anything")), (["anything"], ("anything",)), ([], ())],
)
def test_discover_loads_only_allowed_plugins(
    monkeypatch: pytest.MonkeyPatch, allow: list[str] | None, expected: tuple[str, ...]
) -> None:
    loaded: list[str] = []

    def tracking(name: str, cls: object) -> FakeEntryPoint:
        def load() -> object:
            loaded.append(name)
            return cls

        return FakeEntryPoint(name, load)

    _install(monkeypatch, tracking("oru", ORU), tracking("anything", ANYTHING))
    assert discover(allow).names() == expected
    assert tuple(loaded) == expected


BUILT_INS = {"hl7v2-adt", "hl7v2-oru", "device-templates"}


@pytest.mark.skipif(
    not {ep.name for ep in entry_points(group=GROUP)} >= BUILT_INS,
    reason="built-in mapper entry points are not in the installed metadata yet",
)
def test_built_in_mappers_register_through_entry_points() -> None:
    reg = discover(BUILT_INS)
    assert set(reg.names()) == BUILT_INS
    assert reg.for_message_type("ORU^R01") is reg.get("hl7v2-oru")
    assert reg.for_message_type("ADT^A40") is reg.get("hl7v2-adt")


def test_built_in_mappers_load_like_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    _install(
        monkeypatch,
        FakeEntryPoint("hl7v2-adt", lambda: AdtMapper),
        FakeEntryPoint("hl7v2-oru", lambda: OruMapper),
        FakeEntryPoint("device-templates", lambda: TemplateMapper),
    )
    reg = discover(None)
    assert reg.names() == ("hl7v2-adt", "hl7v2-oru", "device-templates")
    for name in reg.names():
        mapper = reg.get(name)
        assert mapper is not None
        assert mapper.name == name
    assert reg.for_message_type("ADT^A04^ADT_A01") is reg.get("hl7v2-adt")
    assert reg.for_message_type("ORU^R01") is reg.get("hl7v2-oru")
    assert reg.for_message_type("ORM^O01") is None
