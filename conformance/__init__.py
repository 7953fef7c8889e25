"""R4 definitions (vendored), structural validation and the CapabilityStatement."""
