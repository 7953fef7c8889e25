"""FHIR R4 interoperability server for the Internet of Medical Things."""

__version__ = "0.1.0"
