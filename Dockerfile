# The same server as `make run`, on the embedded SQLite default (data in /data).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fhir_server ./fhir_server
COPY mappers ./mappers
COPY terminology ./terminology
COPY conformance ./conformance
RUN pip install --no-cache-dir . && useradd --create-home fhir && mkdir /data && chown fhir /data
USER fhir
ENV FHIR_SERVER_DATA_DIR=/data
EXPOSE 8080
VOLUME ["/data"]
CMD ["fhir-server", "serve", "--host", "0.0.0.0", "--port", "8080"]
