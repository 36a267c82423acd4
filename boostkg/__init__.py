"""boostkg: the knowledge graph of Europe's regional innovation ecosystems (the BOOST ICF)."""

__version__ = "0.1.0"
