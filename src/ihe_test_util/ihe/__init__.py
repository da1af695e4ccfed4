"""IHE knowledge as data: namespaces, the transaction catalogue, message builders."""
