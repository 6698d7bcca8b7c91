"""SEA core: the Skills Extraction Algorithm (taxonomy, spans, encoder, matching, pipeline)."""

__version__ = "0.1.0"
