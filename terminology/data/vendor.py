"""Rebuild the vendored terminology content in this folder (a maintainer's tool, not shipped).

``python terminology/data/vendor.py FHIR_R4_DIR UCUM_ESSENCE_XML`` reads the official R4
``valuesets.json``, ``v2-tables.json`` and ``conceptmaps.json`` and the UCUM
``ucum-essence.xml``, drops the generated narratives (``text``) and writes the compact,
compressed files the package loads; see README.md for provenance.
"""

from __future__ import annotations

import gzip
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
_UCUM_NS = {"u": "http://unitsofmeasure.org/ucum-essence"}


def _resources(path: Path) -> list[dict[str, Any]]:
    bundle = orjson.loads(path.read_bytes())
    resources = [entry["resource"] for entry in bundle["entry"]]
    for resource in resources:
        resource.pop("text", None)
    return resources


def _write_lines(name: str, resources: list[dict[str, Any]]) -> None:
    """An index line ([type, url, version] per resource), then one resource per line.

    The index lets the package find a resource without parsing the others.
    """
    index = [[r["resourceType"], r.get("url", ""), r.get("version", "")] for r in resources]
    lines = [orjson.dumps(index), *(orjson.dumps(r) for r in resources)]
    # mtime=0: the same input gives byte-identical files
    data = gzip.compress(b"\n".join(lines) + b"\n", compresslevel=9, mtime=0)
    (HERE / name).write_bytes(data)


def _ucum(path: Path) -> dict[str, Any]:
    root = ET.parse(path).getroot()  # the official file, read by a maintainer
    units = root.findall("u:unit", _UCUM_NS)
    return {
        "version": root.get("version"),
        "revision-date": root.get("revision-date"),
        "prefixes": [p.get("Code") for p in root.findall("u:prefix", _UCUM_NS)],
        "metric": [b.get("Code") for b in root.findall("u:base-unit", _UCUM_NS)]
        + [u.get("Code") for u in units if u.get("isMetric") == "yes"],
        "non-metric": [u.get("Code") for u in units if u.get("isMetric") != "yes"],
    }


def main(fhir_dir: str, ucum_essence: str) -> None:
    """Write the three data files from the official sources."""
    source = Path(fhir_dir)
    systems = _resources(source / "valuesets.json") + _resources(source / "v2-tables.json")
    _write_lines("codesystems-valuesets.ndjson.gz", systems)
    _write_lines("conceptmaps.ndjson.gz", _resources(source / "conceptmaps.json"))
    ucum = orjson.dumps(_ucum(Path(ucum_essence)), option=orjson.OPT_INDENT_2)
    (HERE / "ucum-essence.json").write_bytes(ucum + b"\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
