"""One table of searches, three targets: SQLite, the MongoDB adapter and the in-memory matcher.

https://hl7.org/fhir/R4/search.html is the referee: each row is a query string on a type and
the ids it must find in ``search_dataset``, whatever the target.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

import pytest

from fhir_server.core.ports import ResourceStore
from fhir_server.search.engine import RegistrySearchEngine
from fhir_server.search.ir import Query
from fhir_server.search.match import filter_resources
from fhir_server.search.parse import parse_search
from tests.contract.search_dataset import NOW, RESOURCES, load
from tests.factories import BACKENDS, open_store

ENGINE = RegistrySearchEngine.default(1000, 1000)
TARGETS = (*BACKENDS, "memory")

ALL_OBS = {"obs-hr1", "obs-hr2", "obs-old", "obs-bp", "obs-bp2", "obs-glu", "obs-glu2", "obs-note"}
DATED = {"obs-hr1", "obs-hr2", "obs-old", "obs-bp", "obs-bp2", "obs-glu"}
MG_Q = "http://unitsofmeasure.org"

TABLE: list[tuple[str, str, set[str]]] = [
    # number (precision ranges and prefixes)
    ("RiskAssessment", "probability=0.8", {"ra-1"}),
    ("RiskAssessment", "probability=0.3", {"ra-2"}),
    ("RiskAssessment", "probability=0.25", {"ra-2"}),
    ("RiskAssessment", "probability=gt0.5", {"ra-1"}),
    ("RiskAssessment", "probability=lt0.5", {"ra-2"}),
    ("RiskAssessment", "probability=ge0.8", {"ra-1"}),
    ("RiskAssessment", "probability=le0.25", {"ra-2"}),
    ("RiskAssessment", "probability=ne0.8", {"ra-2"}),
    ("RiskAssessment", "probability=sa0.5", {"ra-1"}),
    ("RiskAssessment", "probability=eb0.5", {"ra-2"}),
    ("RiskAssessment", "probability=ap0.79", {"ra-1"}),
    ("RiskAssessment", "probability:missing=true", {"ra-3"}),
    ("RiskAssessment", "probability:missing=false", {"ra-1", "ra-2"}),
    # date: dateTime, date precision, Period, instant, timezones
    ("Observation", "date=2024-01-01", {"obs-hr1", "obs-bp", "obs-glu"}),
    ("Observation", "date=2024", DATED - {"obs-old"}),
    ("Observation", "date=2023", {"obs-old"}),
    ("Observation", "date=2023-06-15", set()),
    ("Observation", "date=2024-01-01T10:00:00Z", {"obs-hr1"}),
    ("Observation", "date=2024-02-01T08:30:00.123Z", {"obs-bp2"}),
    ("Observation", "date=2024-01-01T05:30:00%2B01:00", {"obs-glu"}),
    ("Observation", "date=2024-01-01T05:30:00Z", set()),
    ("Observation", "date=2024-01-01T04:30:00Z", {"obs-glu"}),
    ("Observation", "date=ne2024-01-01", {"obs-hr2", "obs-old", "obs-bp2"}),
    ("Observation", "date=gt2024-01-01", {"obs-hr2", "obs-bp2"}),
    ("Observation", "date=lt2024-01-01", {"obs-old"}),
    ("Observation", "date=ge2024-01-02", {"obs-hr2", "obs-bp2"}),
    ("Observation", "date=le2024-01-01", {"obs-hr1", "obs-bp", "obs-glu", "obs-old"}),
    ("Observation", "date=sa2024-01-01", {"obs-hr2", "obs-bp2"}),
    ("Observation", "date=eb2024-01-01", {"obs-old"}),
    ("Observation", "date=ap2024-01-01", {"obs-hr1", "obs-hr2", "obs-bp", "obs-glu"}),
    ("Observation", "date=ge2024-01-01&date=lt2024-01-02", {"obs-hr1", "obs-bp", "obs-glu"}),
    ("Observation", "date:missing=true", ALL_OBS - DATED),
    ("Encounter", "date=2024-01-01", {"enc-1"}),
    ("Encounter", "date=2024-01", {"enc-1"}),
    ("Encounter", "date=ge2024-02-01", {"enc-2"}),
    ("Encounter", "date=gt2030", {"enc-2"}),
    ("Encounter", "date=lt2024-01-03", {"enc-1"}),
    ("Patient", "birthdate=1970", {"pat-ann"}),
    ("Patient", "birthdate=1970-03", {"pat-ann"}),
    ("Patient", "birthdate=1970-03-15", {"pat-ann"}),
    ("Patient", "birthdate=lt1980", {"pat-ann"}),
    ("Patient", "birthdate=1985", {"pat-bob"}),
    ("Patient", "birthdate=1985-06-01", set()),
    ("Patient", "birthdate=ap1985-06-01", {"pat-bob"}),
    ("Patient", "birthdate:missing=true", {"pat-zoe"}),
    # string: starts-with, case and accents, :exact, :contains
    ("Patient", "name=muller", {"pat-ann"}),
    ("Patient", "name=MÜL", {"pat-ann"}),
    ("Patient", "family=smith", {"pat-bob", "pat-zoe"}),
    ("Patient", "family=mith", set()),
    ("Patient", "family:exact=Smith", {"pat-bob"}),
    ("Patient", "family:exact=smith", set()),
    ("Patient", "family:exact=Müller", {"pat-ann"}),
    ("Patient", "family:exact=Muller", set()),
    ("Patient", "family:contains=ith", {"pat-bob", "pat-zoe"}),
    ("Patient", "family:contains=ULL", {"pat-ann"}),
    ("Patient", "given=zoe", {"pat-zoe"}),
    ("Patient", "address-city=zurich", {"pat-bob"}),
    ("Patient", "address:missing=false", {"pat-bob"}),
    ("Patient", "address:missing=true", {"pat-ann", "pat-zoe"}),
    ("Patient", "family=smith,muller", {"pat-ann", "pat-bob", "pat-zoe"}),
    ("Patient", "family=smith&given=bob", {"pat-bob"}),
    # token: code, system|code, |code, system|, :not, :text, :of-type, :missing, boolean
    ("Observation", "code=8867-4", {"obs-hr1", "obs-hr2", "obs-old"}),
    ("Observation", "code=http://loinc.org|8867-4", {"obs-hr1", "obs-hr2", "obs-old"}),
    (
        "Observation",
        "code=http://loinc.org|8867-4,http://loinc.org|2339-0,http://loinc.org|nope",
        {"obs-hr1", "obs-hr2", "obs-old", "obs-glu", "obs-glu2"},
    ),
    ("Observation", "code=http://other.org|8867-4,|8867-4", set()),
    ("Observation", "code=http://snomed.info/sct|8867-4", set()),
    ("Observation", "code=|8867-4", set()),
    ("Observation", "code=|weight-note", {"obs-note"}),
    ("Observation", "code=weight-note", {"obs-note"}),
    ("Observation", "code=http://loinc.org|", ALL_OBS - {"obs-note"}),
    ("Observation", "code:not=8867-4", ALL_OBS - {"obs-hr1", "obs-hr2", "obs-old"}),
    ("Observation", "code:not=8867-4,2339-0", {"obs-bp", "obs-bp2", "obs-note"}),
    ("Observation", "code:text=heart", {"obs-hr1", "obs-hr2", "obs-old"}),
    ("Observation", "code:text=HEART RATE", {"obs-hr1", "obs-hr2", "obs-old"}),
    ("Observation", "code:text=free text", {"obs-note"}),
    ("Observation", "code:text=rate", set()),
    ("Observation", "status=final", ALL_OBS - {"obs-hr2", "obs-note"}),
    ("Observation", "status:not=final", {"obs-hr2", "obs-note"}),
    ("Observation", "code=8867-4,2339-0", {"obs-hr1", "obs-hr2", "obs-old", "obs-glu", "obs-glu2"}),
    ("Observation", "code=8867-4&status=final", {"obs-hr1", "obs-old"}),
    ("Observation", "code=8867-4&code=2339-0", set()),
    ("Patient", "identifier=111", {"pat-ann", "pat-zoe"}),
    ("Patient", "identifier=urn:mrn|111", {"pat-ann"}),
    ("Patient", "identifier=urn:mrn|", {"pat-ann", "pat-bob"}),
    (
        "Patient",
        f"identifier:of-type={'http://terminology.hl7.org/CodeSystem/v2-0203'}|MR|111",
        {"pat-ann"},
    ),
    (
        "Patient",
        f"identifier:of-type={'http://terminology.hl7.org/CodeSystem/v2-0203'}|MR|222",
        set(),
    ),
    ("Patient", "active=true", {"pat-ann"}),
    ("Patient", "active=false", {"pat-bob"}),
    ("Patient", "active:missing=true", {"pat-zoe"}),
    ("Patient", "active:not=true", {"pat-bob", "pat-zoe"}),
    ("Patient", "gender=female", {"pat-ann", "pat-zoe"}),
    ("Encounter", "class=AMB", {"enc-1"}),
    # reference: id, Type/id, absolute URL, :Type, :identifier, :missing
    ("Observation", "subject=Patient/pat-ann", {"obs-hr1", "obs-bp"}),
    ("Observation", "subject=pat-ann", {"obs-hr1", "obs-bp"}),
    ("Observation", "subject:Patient=pat-bob", {"obs-hr2", "obs-bp2"}),
    ("Observation", "subject:Device=pat-bob", set()),
    ("Observation", "subject=http://other.org/fhir/Patient/ext-1", {"obs-glu"}),
    ("Observation", "patient=pat-zoe", {"obs-old", "obs-glu2"}),
    ("Observation", "subject:identifier=urn:mrn|333", {"obs-note"}),
    ("Observation", "subject:identifier=urn:mrn|111", set()),
    ("Observation", "performer=Practitioner/doc-1", {"obs-hr1"}),
    ("Observation", "encounter:missing=false", {"obs-hr1"}),
    (
        "Observation",
        "subject=Patient/pat-ann,Patient/pat-bob",
        {"obs-hr1", "obs-bp", "obs-hr2", "obs-bp2"},
    ),
    ("Patient", "organization=Organization/org-1", {"pat-ann"}),
    ("Patient", "organization:missing=true", {"pat-bob"}),
    # quantity: prefixes, units, UCUM canonical comparison
    ("Observation", "value-quantity=72", {"obs-hr1"}),
    ("Observation", f"value-quantity=72|{MG_Q}|/min", {"obs-hr1"}),
    ("Observation", "value-quantity=72||/min", {"obs-hr1"}),
    ("Observation", f"value-quantity=72|{MG_Q}|mg", set()),
    ("Observation", "value-quantity=gt100", {"obs-hr2", "obs-glu"}),
    ("Observation", "value-quantity=le72", {"obs-hr1", "obs-old", "obs-glu2"}),
    ("Observation", "value-quantity=ne72", {"obs-hr2", "obs-old", "obs-glu", "obs-glu2"}),
    ("Observation", f"value-quantity=gt0.1|{MG_Q}|g", {"obs-glu"}),
    ("Observation", f"value-quantity=0.15|{MG_Q}|g", {"obs-glu"}),
    ("Observation", f"value-quantity=150|{MG_Q}|mg", {"obs-glu"}),
    ("Observation", f"value-quantity=lt100|{MG_Q}|mg", {"obs-glu2"}),
    ("Observation", f"value-quantity=50|{MG_Q}|mg", {"obs-glu2"}),
    ("Observation", f"value-quantity=ge0.05|{MG_Q}|g", {"obs-glu", "obs-glu2"}),
    ("Observation", "value-quantity:missing=true", {"obs-bp", "obs-bp2", "obs-note"}),
    # uri
    ("ValueSet", "url=http://example.org/fhir/ValueSet/vitals", {"vs-1"}),
    ("ValueSet", "url:below=http://example.org/fhir/ValueSet/vitals", {"vs-1", "vs-2"}),
    ("ValueSet", "url:below=http://example.org/fhir", {"vs-1", "vs-2"}),
    ("ValueSet", "url:above=http://example.org/fhir/ValueSet/vitals/sub/deeper", {"vs-1", "vs-2"}),
    ("ValueSet", "url:above=http://example.org/fhir/ValueSet/vitals/x", {"vs-1"}),
    ("ValueSet", "url:missing=true", {"vs-4"}),
    # composite
    ("Observation", f"code-value-quantity={'http://loinc.org'}|8867-4$gt100", {"obs-hr2"}),
    ("Observation", "code-value-quantity=8867-4$lt80", {"obs-hr1", "obs-old"}),
    ("Observation", f"code-value-quantity=2339-0$gt0.1|{MG_Q}|g", {"obs-glu"}),
    ("Observation", "code-value-quantity=2339-0$gt100,8867-4$gt100", {"obs-hr2", "obs-glu"}),
    ("Observation", "component-code-value-quantity=8480-6$gt130", {"obs-bp"}),
    ("Observation", "component-code-value-quantity=8480-6$gt100", {"obs-bp", "obs-bp2"}),
    ("Observation", "component-code-value-quantity=8462-4$gt100", set()),
    ("Observation", "component-code-value-quantity=8462-4$lt80", {"obs-bp2"}),
    (
        "Observation",
        "component-code-value-quantity=8480-6$gt130&component-code-value-quantity=8462-4$lt100",
        {"obs-bp"},
    ),
    ("Observation", "code-value-quantity:missing=true", {"obs-bp", "obs-bp2", "obs-note"}),
    ("Observation", "component-code-value-quantity:missing=false", {"obs-bp", "obs-bp2"}),
    # combo-* and code-value-* are searched through the parameters they repeat (not indexed)
    ("Observation", "combo-code=8480-6", {"obs-bp", "obs-bp2"}),
    ("Observation", "combo-code=http://loinc.org|8867-4", {"obs-hr1", "obs-hr2", "obs-old"}),
    ("Observation", "combo-code=85354-9,2339-0", {"obs-bp", "obs-bp2", "obs-glu", "obs-glu2"}),
    ("Observation", "combo-code:not=8480-6", ALL_OBS - {"obs-bp", "obs-bp2"}),
    ("Observation", "combo-code:text=heart", {"obs-hr1", "obs-hr2", "obs-old"}),
    ("Observation", "combo-code:missing=true", set()),
    ("Observation", "combo-code:missing=false", ALL_OBS),
    ("Observation", "combo-value-quantity=gt130", {"obs-bp", "obs-glu"}),
    ("Observation", "combo-value-quantity=lt75", {"obs-hr1", "obs-old", "obs-bp2", "obs-glu2"}),
    ("Observation", "combo-value-quantity:missing=true", {"obs-note"}),
    ("Observation", "combo-code-value-quantity=8480-6$gt130", {"obs-bp"}),
    ("Observation", "combo-code-value-quantity=8867-4$gt100", {"obs-hr2"}),
    ("Observation", "combo-code-value-quantity=85354-9$gt0", set()),
    ("Observation", "combo-code-value-quantity=8462-4$gt75,8867-4$lt70", {"obs-bp", "obs-old"}),
    ("Observation", "combo-code-value-quantity:missing=true", {"obs-note"}),
    (
        "Observation",
        "code-value-quantity:missing=false",
        ALL_OBS - {"obs-bp", "obs-bp2", "obs-note"},
    ),
    ("Observation", "code-value-quantity=8867-4$gt100&status=final", set()),
    ("Patient", "_has:Observation:subject:combo-code=8480-6", {"pat-ann", "pat-bob"}),
    ("Encounter", "_has:Observation:encounter:combo-code-value-quantity=8867-4$lt100", {"enc-1"}),
    # common parameters
    ("Patient", "_id=pat-ann,pat-bob", {"pat-ann", "pat-bob"}),
    ("Patient", "_id=nope", set()),
    ("Patient", "_lastUpdated=lt2024-05-01T04:30:00Z", {"pat-ann", "pat-bob"}),
    ("Patient", "_lastUpdated=ge2024-05-01T04:00:00Z", {"pat-bob", "pat-zoe"}),
    ("Patient", "_lastUpdated=gt2024-05-01T04:00:00Z", {"pat-zoe"}),
    ("Patient", "_lastUpdated=2024-05-01T05:00", {"pat-zoe"}),
    ("Patient", "_lastUpdated=2024-05-01", {"pat-ann", "pat-bob", "pat-zoe"}),
    ("Patient", "_lastUpdated=lt2024-05-01", set()),
    ("Patient", "_tag=urn:tags|vip", {"pat-ann"}),
    ("Patient", "_tag:not=vip", {"pat-bob", "pat-zoe"}),
    ("Patient", "_profile=http://example.org/StructureDefinition/special-patient", {"pat-ann"}),
    ("Patient", "_security=R", {"pat-ann"}),
    ("Patient", "_source=urn:source:ehr-a", {"pat-ann"}),
    ("Patient", "_source:missing=true", {"pat-bob", "pat-zoe"}),
    # chaining (multi-level) and reverse chaining
    ("Observation", "subject:Patient.name=muller", {"obs-hr1", "obs-bp"}),
    ("Observation", "subject.name=smith", {"obs-hr2", "obs-bp2", "obs-old", "obs-glu2"}),
    ("Observation", "patient.identifier=urn:mrn|222", {"obs-hr2", "obs-bp2"}),
    ("Observation", "subject:Patient.organization.name=acme", {"obs-hr1", "obs-bp"}),
    ("Observation", "subject:Patient.organization.partof.name=regional", {"obs-hr1", "obs-bp"}),
    ("Observation", "subject:Patient.organization.name=regional", {"obs-old", "obs-glu2"}),
    ("Observation", "subject:Patient.name=muller&code=8867-4", {"obs-hr1"}),
    ("Patient", "_has:Observation:patient:code=8867-4", {"pat-ann", "pat-bob", "pat-zoe"}),
    ("Patient", "_has:Observation:patient:code=2339-0", {"pat-zoe"}),
    ("Patient", "_has:Observation:subject:component-code-value-quantity=8480-6$gt130", {"pat-ann"}),
    ("Patient", "_has:Observation:patient:_has:Observation:patient:code=2339-0", set()),
    ("Patient", "_has:RiskAssessment:subject:probability=gt0.5", {"pat-ann"}),
    ("Organization", "_has:Patient:organization:_has:Observation:patient:code=2339-0", {"org-2"}),
    ("Practitioner", "_has:Observation:performer:subject:Patient.name=muller", {"doc-1"}),
    # injection attempts find nothing (and change nothing: see test_injection_changes_nothing)
    ("Patient", 'name={"$gt": ""}', set()),
    ("Patient", "family=$where", set()),
    ("Patient", "family='; DROP TABLE resources; --", set()),
    ("Patient", "family:contains=.*", set()),
    ("Patient", "family:contains=(", set()),
    ("Patient", "family:contains=%", set()),
    ("Patient", "family:contains=_", set()),
    ("Patient", "family:exact=^S", set()),
    ("Patient", "identifier=$ne|1", set()),
    ("Observation", "subject:identifier=$where|1", set()),
]


@pytest.fixture(scope="module", params=TARGETS)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any]]:
    if request.param == "memory":
        store = open_store("sqlite", tmp_path_factory.mktemp("pool"))
        pool = load(store, ENGINE)
        store.close()
        yield "memory", pool
        return
    store = open_store(request.param, tmp_path_factory.mktemp(request.param))
    load(store, ENGINE)
    yield request.param, store
    store.close()


def parse(resource_type: str, query_string: str) -> Query:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    query, issues = parse_search(
        [resource_type],
        pairs,
        ENGINE.registry,
        default_count=1000,
        max_count=1000,
        strict=True,
        now=NOW,
    )
    assert issues == []
    return query


def run(target: tuple[str, Any], query: Query) -> list[str]:
    name, backend = target
    if name == "memory":
        return [r["id"] for r in filter_resources(backend, query, ENGINE.registry)]
    store: ResourceStore = backend
    return [v.id for v in store.search(query).entries]


@pytest.mark.parametrize(("resource_type", "query_string", "expected"), TABLE)
def test_search_table(
    target: tuple[str, Any], resource_type: str, query_string: str, expected: set[str]
) -> None:
    found = run(target, parse(resource_type, query_string))
    assert len(found) == len(set(found)), f"duplicates: {found}"
    assert set(found) == expected


def test_injection_changes_nothing(target: tuple[str, Any]) -> None:
    name, backend = target
    for _, query_string, _ in TABLE[-10:]:
        run(target, parse("Patient", query_string.replace("subject:identifier", "identifier")))
    everything = replace(
        parse("Patient", ""), resource_types=tuple(sorted({r["resourceType"] for r in RESOURCES}))
    )
    assert sorted(run(target, everything)) == sorted(r["id"] for r in RESOURCES)
    if name != "memory":
        assert backend.read("Patient", "pat-ann").resource()["name"][0]["family"] == "Müller"
