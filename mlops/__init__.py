"""SEA MLOps: settings, adapters (warehouse, artifact store), services and entry points."""
