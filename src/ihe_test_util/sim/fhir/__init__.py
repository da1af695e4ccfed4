"""The simulator's FHIR actors (MHD, PDQm, PIXm) under ``/fhir``, on the same store as the SOAP
actors: :mod:`.app` (routes, dispatch), :mod:`.wire` (negotiation, bodies, Bundles, errors),
:mod:`.common` (ids, profile noise), :mod:`.patients` (PDQm, PIXm), :mod:`.documents` (MHD)."""
