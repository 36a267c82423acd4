"""Importers: real reference and collaboration data files -> N-Triples, streaming, with progress."""
