# The same server as `make run`, on the embedded SQLite default (data in /data).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fhir_server ./fhir_server
COPY mappers ./mappers
COPY conformance ./conformance
RUN pip install --no-cache-dir . && useradd --create-home fhir && mkdir /data && chown fhir /data
USER fhir
ENV FHIR_SERVER_DATA_DIR=/data
# Auth is on: set FHIR_SERVER_BASE_URL to the public FHIR base URL (the `aud` of tokens),
# e.g. docker run -e FHIR_SERVER_BASE_URL=https://fhir.example.org/fhir ...
# MLLP (HL7 v2) listens only when started with --mllp-port 2575.
EXPOSE 8080 2575
VOLUME ["/data"]
CMD ["fhir-server", "serve", "--host", "0.0.0.0", "--port", "8080"]
