from __future__ import annotations

from terminology_fixtures import shapes

from terminology.concepts import Concepts, display_in


def test_nested_concepts_form_the_hierarchy() -> None:
    index = Concepts(shapes())
    assert sorted(index.descendants("shape")) == ["circle", "polygon", "square", "triangle"]
    assert sorted(index.ancestors("square")) == ["polygon", "shape"]
    assert index.descendants("circle") == []
    polygon = index.get("polygon")
    assert polygon is not None
    assert polygon.parents == ["shape"]


def test_parent_properties_link_flat_concepts() -> None:
    flat = shapes(
        concept=[
            {"code": "a", "display": "A"},
            {"code": "b", "property": [{"code": "parent", "valueCode": "a"}]},
            {"code": "c", "property": [{"code": "subsumedBy", "valueCode": "b"}]},
        ]
    )
    assert sorted(Concepts(flat).descendants("a")) == ["b", "c"]


def test_abstract_and_inactive_come_from_standard_properties() -> None:
    index = Concepts(shapes())
    shape, blob, square = index.get("shape"), index.get("blob"), index.get("square")
    assert shape is not None
    assert shape.abstract
    assert not shape.inactive
    assert blob is not None
    assert blob.inactive
    assert square is not None
    assert not square.abstract
    assert square.values("sides") == ["4"]


def test_codes_match_ignoring_case_only_when_the_system_says_so() -> None:
    assert Concepts(shapes()).get("SQUARE") is None
    found = Concepts(shapes(caseSensitive=False)).get("SQUARE")
    assert found is not None
    assert found.code == "square"


def test_display_language_picks_a_matching_designation() -> None:
    designations = [{"language": "de", "value": "Dreieck"}, {"language": "nl", "value": "Driehoek"}]
    assert display_in("de", "Triangle", designations) == "Dreieck"
    assert display_in("de-CH", "Triangle", designations) == "Dreieck"
    assert display_in("fr", "Triangle", designations) == "Triangle"
    assert display_in(None, "Triangle", designations) == "Triangle"
