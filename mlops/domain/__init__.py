"""The backend's small vocabulary, shared by every layer of `mlops`: release stages, model
statuses, the one timestamp format and typed views of registry records. Pure Python: no I/O,
no imports from adapters or services."""
