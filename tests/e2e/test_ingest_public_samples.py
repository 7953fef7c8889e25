"""Public HL7 v2 and device messages through a real server, sent by real client libraries.

HL7 v2 over MLLP with python-hl7's ``MLLPClient`` (ACKs parsed with ``hl7.parse``); Open
mHealth data points over HTTP. The samples are the vendored public ones
(``tests/fixtures/hl7v2/public/``, ``tests/fixtures/devices/openmhealth/``, sources in their
READMEs). Unknown patients follow the ``placeholder`` policy, as a site without an ADT feed
would configure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hl7
import hl7.client
import httpx
import pytest

from tests.support.server import ServerProcess, free_port, running_server

pytestmark = pytest.mark.e2e
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOINC = "http://loinc.org"


def _public(name: str) -> str:
    raw = (FIXTURES / "hl7v2" / "public" / name).read_bytes()
    return raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").decode()


class MllpServer:
    def __init__(self, http: ServerProcess, mllp_port: int) -> None:
        self.http = http
        self.mllp_port = mllp_port

    def send(self, *messages: str) -> list[hl7.Message]:
        """Each message on one connection, its ACK parsed."""
        acks = []
        with hl7.client.MLLPClient("127.0.0.1", self.mllp_port) as client:
            for message in messages:
                reply = client.send_message(message)
                acks.append(hl7.parse(reply.strip(b"\x0b\x1c\r").decode()))
        return acks

    def total(self, query: str) -> int:
        separator = "&" if "?" in query else "?"
        response = httpx.get(f"{self.http.base_url}/{query}{separator}_summary=count")
        assert response.status_code == 200, response.text
        total: int = response.json()["total"]
        return total

    def search(self, query: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.http.base_url}/{query}")
        assert response.status_code == 200, response.text
        return [entry["resource"] for entry in response.json().get("entry", [])]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MllpServer]:
    mllp = free_port()
    env = {"FHIR_SERVER_INGEST_UNKNOWN_PATIENT": "placeholder"}
    data_dir = tmp_path_factory.mktemp("public")
    with running_server(data_dir, args=("--mllp-port", str(mllp)), env=env) as http:
        yield MllpServer(http, mllp)


def _msa(ack: hl7.Message) -> tuple[str, str]:
    msa = ack.segment("MSA")
    return str(msa[1]), str(msa[2])


def test_pcd01_oximeter_becomes_loinc_and_mdc_coded_observations(server: MllpServer) -> None:
    message = _public("oru_r01_pcd01_v26_continua_oximeter.hl7")
    (ack,) = server.send(message)
    assert _msa(ack) == ("AA", str(hl7.parse(message).segment("MSH")[10]))
    (spo2,) = server.search(f"Observation?code={LOINC}|59408-5")
    codes = {(c["system"], c["code"]) for c in spo2["code"]["coding"]}
    assert ("urn:iso:std:iso:11073:10101", "150456") in codes
    assert spo2["valueQuantity"]["value"] == 80.5
    assert spo2["device"]["reference"].startswith("Device/")
    assert server.total("Device") >= 1


def test_lab_results_keep_every_obx_and_resending_adds_nothing(server: MllpServer) -> None:
    names = ("oru_r01_v251_nist_lri_cbc.hl7", "adt_a01_v28_fhirconverter.hl7")
    messages = [_public(name) for name in names]
    obx = sum(1 for line in messages[0].split("\r") if line.startswith("OBX|"))
    acks = server.send(*messages)
    assert [_msa(a)[0] for a in acks] == ["AA", "AA"]
    report_id = str(hl7.parse(messages[0]).segment("OBR")[3][0][0])
    (report,) = server.search(f"DiagnosticReport?identifier={report_id}")
    assert len(report["result"]) == obx
    before = [server.total(t) for t in ("Observation", "Patient", "Encounter")]
    assert [_msa(a)[0] for a in server.send(*messages)] == ["AA", "AA"]
    assert [server.total(t) for t in ("Observation", "Patient", "Encounter")] == before


def test_an_invalid_birth_date_is_ae_naming_pid_7(server: MllpServer) -> None:
    (ack,) = server.send(_public("oru_r01_v24_pythonhl7_sn_fn.hl7"))
    assert _msa(ack)[0] == "AE"
    assert "PID^1^7" in str(ack.segment("ERR"))


def test_an_event_nobody_maps_is_ar(server: MllpServer) -> None:
    (ack,) = server.send(_public("erp_z99_v231_hapi_zsegment.hl7"))
    assert _msa(ack)[0] == "AR"


def test_open_mhealth_data_points_over_http(server: MllpServer) -> None:
    url = f"{server.http.root_url}/ingest/device-templates"
    headers = {"Content-Type": "application/json"}
    body = FIXTURES / "devices" / "openmhealth" / "blood-pressure-4.0-blood-pressure-only.json"
    first = httpx.post(url, content=body.read_bytes(), headers=headers)
    assert first.status_code == 200, first.text
    (panel,) = server.search(f"Observation?code={LOINC}|85354-9")
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in panel["component"]}
    assert components["8480-6"]["code"] == "mm[Hg]"
    assert {"8480-6", "8462-4"} <= set(components)
    again = httpx.post(url, content=body.read_bytes(), headers=headers)
    assert again.json()["duplicate"] is True
    assert server.total(f"Observation?code={LOINC}|85354-9") == 1
