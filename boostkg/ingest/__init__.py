"""Getting data into the store: parse, check references, record provenance, commit atomically."""
