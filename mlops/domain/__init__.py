"""The backend's small vocabulary, shared by every layer of `mlops`: release stages, model
statuses and the one timestamp format. Pure Python: no I/O, no imports from adapters or services."""
