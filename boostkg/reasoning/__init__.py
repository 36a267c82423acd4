"""Reasoning over the ICF ontology: SPARQL rules that materialise inferences, and the HermiT check."""
