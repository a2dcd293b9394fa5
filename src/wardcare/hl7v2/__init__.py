"""HL7 v2 over MLLP: a transport edge, like `wardcare.api` (see docs/architecture.md).

Framing (`mllp_framing`), parsing (`message_parsing`), mapping to FHIR (`adt_to_fhir`,
`oru_to_fhir`) and acknowledgements (`ack_builder`) are separate modules; `mllp_listener` is the
asyncio server that `wardcare serve --mllp-port` starts next to HTTP.
"""
