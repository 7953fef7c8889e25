"""HL7 v2 mappers (versions 2.3 to 2.8): ADT to Patient/Encounter, ORU to Observation.

Mapping follows the HL7 Version 2 to FHIR IG (http://hl7.org/fhir/uv/v2mappings) where it
gives an answer; ``tables`` lists every concept map used and the choices made where the
IG leaves a code unmapped. Device data follows IHE PCD-01 (IHE PCD TF-2, 3.1).
"""
