"""One module per ``ihe`` sub-command; each exposes ``command`` (a click command)."""
