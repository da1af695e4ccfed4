"""Getting bytes to and from IHE endpoints: HTTP/SOAP sessions and MTOM/XOP packaging."""
