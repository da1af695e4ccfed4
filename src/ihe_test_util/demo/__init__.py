"""The scenario ``ihe demo`` records: the XDS round trip, ``xds-roundtrip.yaml``."""
