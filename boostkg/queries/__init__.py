"""The named SPARQL queries shipped in queries/: their headers, parameters and safe binding."""
