"""The bundled end-to-end story (``ihe demo``) and its XDS flow."""
