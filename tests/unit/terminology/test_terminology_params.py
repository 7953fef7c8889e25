from __future__ import annotations

import pytest

from fhir_server.errors import InvalidRequest, UnsupportedParameter
from terminology.expansion import SIGNATURE as EXPAND
from terminology.params import Inputs
from terminology.translate import SIGNATURE as TRANSLATE


def test_url_parameters_are_converted_to_their_types() -> None:
    inputs = Inputs.from_query(
        EXPAND,
        [("url", "http://a"), ("count", "5"), ("activeOnly", "true"), ("_format", "json")],
    )
    assert (inputs.text("url"), inputs.integer("count"), inputs.boolean("activeOnly")) == (
        "http://a",
        5,
        True,
    )
    assert not inputs.has("_format")


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("count", "-1")], "non-negative integer"),
        ([("activeOnly", "yes")], "true or false"),
        ([("url", "")], "has no value"),
        ([("url", "a"), ("url", "b")], "only once"),
        ([("colour", "red")], "no parameter 'colour'"),
        ([("valueSet", "{}")], "Parameters body"),
    ],
)
def test_bad_url_parameters_are_400(pairs: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        Inputs.from_query(EXPAND, pairs)


def test_r4_parameters_that_are_not_implemented_say_so() -> None:
    with pytest.raises(UnsupportedParameter, match="date is not supported"):
        Inputs.from_query(EXPAND, [("date", "2020")])
    with pytest.raises(UnsupportedParameter, match="dependency"):
        Inputs.from_body(
            TRANSLATE, {"resourceType": "Parameters", "parameter": [{"name": "dependency"}]}
        )


def test_parameters_bodies_are_read_with_the_url_parameters() -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coding", "valueCoding": {"system": "http://a", "code": "x"}},
            {"name": "reverse", "valueBoolean": True},
        ],
    }
    inputs = Inputs.from_body(TRANSLATE, body, [("targetsystem", "http://b")])
    assert inputs.json("coding") == {"system": "http://a", "code": "x"}
    assert inputs.boolean("reverse") is True
    assert inputs.text("targetsystem") == "http://b"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"resourceType": "ValueSet"}, "must be a Parameters"),
        ([], "must be a Parameters"),
        ({"resourceType": "Parameters", "parameter": {}}, "must be an array"),
        ({"resourceType": "Parameters", "parameter": [{"valueString": "x"}]}, "needs a name"),
        (
            {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": "2"}]},
            "valueInteger",
        ),
        (
            {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": True}]},
            "valueInteger",
        ),
        (
            {
                "resourceType": "Parameters",
                "parameter": [{"name": "activeOnly", "valueString": "true"}],
            },
            "valueBoolean",
        ),
        (
            {"resourceType": "Parameters", "parameter": [{"name": "valueSet", "valueString": "x"}]},
            "needs a resource",
        ),
        (
            {"resourceType": "Parameters", "parameter": [{"name": "url", "valueBoolean": True}]},
            "needs a value",
        ),
    ],
)
def test_malformed_parameters_bodies_are_400(body: object, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        Inputs.from_body(EXPAND, body)
