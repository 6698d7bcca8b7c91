"""Where things live in the artifact store (ARCHITECTURE.md): one definition for every module."""

from __future__ import annotations

from mlops.versioning import Version

VERSIONS_PREFIX = "finetuned_models/mlops/versions"
#: What the PROD endpoint serves: a copy of the PROD version's bundle.
PROD_PREFIX = "prod"


def version_prefix(version: str) -> str:
    """Store prefix of a model version's bundle, `finetuned_models/mlops/versions/X.Y.Z`
    (no trailing slash); VersionError for a malformed version."""
    return f"{VERSIONS_PREFIX}/{Version.parse(version)}"
