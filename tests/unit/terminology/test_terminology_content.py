from __future__ import annotations

from terminology_fixtures import MemorySource, registry, shapes

from terminology import loinc, mdc
from terminology.content import bundled
from terminology.registry import Registry, split_canonical


def test_shipped_content_is_indexed_by_url_and_version() -> None:
    content = bundled()
    gender = content.find("CodeSystem", "http://hl7.org/fhir/administrative-gender", "4.0.1")
    assert gender is not None
    assert gender["content"] == "complete"
    assert content.find("CodeSystem", "http://hl7.org/fhir/administrative-gender", "3.0") is None
    v2 = content.find("CodeSystem", "http://terminology.hl7.org/CodeSystem/v2-0001")
    assert v2 is not None
    assert v2["version"] == "2.9"
    assert content.find("ConceptMap", "http://hl7.org/fhir/ConceptMap/cm-name-use-v2") is not None
    assert "text" not in gender, "narratives are not shipped"


def test_concept_indexes_of_shipped_code_systems_are_built_once() -> None:
    content = bundled()
    gender = content.find("CodeSystem", "http://hl7.org/fhir/administrative-gender")
    assert gender is not None
    assert content.concepts(gender) is content.concepts(gender)
    assert content.concepts(shapes()) is not content.concepts(shapes())


def test_loinc_is_a_labelled_fragment_with_the_vital_signs_codes() -> None:
    code_system = bundled().find("CodeSystem", loinc.LOINC)
    assert code_system is not None
    assert code_system["content"] == "fragment"
    assert "fragment" in code_system["title"]
    vital_signs = bundled().find(
        "ValueSet", "http://hl7.org/fhir/ValueSet/observation-vitalsignresult"
    )
    assert vital_signs is not None
    listed = {c["code"] for c in vital_signs["compose"]["include"][0]["concept"]}
    assert listed <= set(loinc.VITAL_SIGNS)


def test_mdc_concept_map_holds_every_vital_sign_of_the_table() -> None:
    concept_map = mdc.concept_map()
    [group] = concept_map["group"]
    assert (group["source"], group["target"]) == (mdc.MDC, loinc.LOINC)
    elements = {e["code"]: e for e in group["element"]}
    assert set(elements) == set(mdc.BY_CODE)
    oximetry = elements["150456"]
    assert oximetry["display"] == "MDC_PULS_OXIM_SAT_O2"
    assert [(t["code"], t["equivalence"]) for t in oximetry["target"]] == [
        ("59408-5", "equivalent"),
        ("2708-6", "wider"),
    ]
    narrower = [t for e in group["element"] for t in e["target"] if t["equivalence"] == "narrower"]
    assert all(t.get("comment") for t in narrower), "R4: a narrower mapping SHALL say how"


def test_mdc_terms_are_found_by_reference_id_before_numeric_code() -> None:
    term = mdc.vital_sign("150456", "MDC_RESP_RATE")
    assert term is not None
    assert term.reference_id == "MDC_RESP_RATE"
    term = mdc.vital_sign("150456", "")
    assert term is not None
    assert term.reference_id == "MDC_PULS_OXIM_SAT_O2"
    assert mdc.vital_sign("1", "MDC_UNKNOWN") is None


def test_stored_resources_come_before_shipped_ones() -> None:
    own = {
        "resourceType": "ValueSet",
        "id": "mine",
        "url": "http://hl7.org/fhir/ValueSet/administrative-gender",
        "status": "active",
    }
    found = registry(own).find("ValueSet", "http://hl7.org/fhir/ValueSet/administrative-gender")
    assert found is own
    shipped = registry().find("ValueSet", "http://hl7.org/fhir/ValueSet/administrative-gender")
    assert shipped is not None
    assert shipped["id"] == "administrative-gender"


def test_lookups_are_memoised_per_request_and_ask_for_the_newest_first() -> None:
    source = MemorySource(shapes())
    tx = Registry(source)
    assert tx.code_system("http://example.org/CodeSystem/shapes") is not None
    assert tx.code_system("http://example.org/CodeSystem/shapes") is not None
    assert len(source.searches) == 1
    _, params = source.searches[0]
    assert ("_sort", "-_lastUpdated") in params


def test_canonical_versions_split_on_the_bar() -> None:
    assert split_canonical("http://a/vs|2.0") == ("http://a/vs", "2.0")
    assert split_canonical("http://a/vs") == ("http://a/vs", None)
    assert split_canonical("http://a/vs|") == ("http://a/vs", None)
