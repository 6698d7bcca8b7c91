"""Model and data versions `X.Y.Z` (ARCHITECTURE.md "Contracts").

X (major): encoder, architecture or loss change; Y (minor): retrained weights;
Z (patch): data update (taxonomy ingestion, re-embedding) or bug fix. Bumping a part resets
the parts below it (1.2.9 -> minor -> 1.3.0); parts are unbounded integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

BumpKind = Literal["major", "minor", "patch"]

#: What each bump means in SEA.
BUMP_RULES: dict[str, str] = {
    "major": "encoder, architecture or loss change",
    "minor": "retrained weights",
    "patch": "data update (taxonomy re-embedding) or bug fix",
}

# ASCII digits only, no leading zeros (as in semver), exactly three parts.
_PATTERN = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


class VersionError(ValueError):
    """A text is not a version `X.Y.Z`, or a bump kind is unknown."""


@dataclass(frozen=True, order=True)
class Version:
    """A version `major.minor.patch`, ordered numerically (1.10.0 > 1.9.0)."""

    major: int
    minor: int
    patch: int

    def __post_init__(self) -> None:
        for name in ("major", "minor", "patch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise VersionError(f"version {name} must be a non-negative integer, got {value!r}")

    @classmethod
    def parse(cls, text: object) -> Version:
        """Parse `"X.Y.Z"` (surrounding whitespace ignored); VersionError otherwise."""
        if not isinstance(text, str):
            raise VersionError(f"a version must be a string like '1.2.3', got {type(text).__name__} {text!r}")
        match = _PATTERN.fullmatch(text.strip())
        if match is None:
            raise VersionError(
                f"invalid version {text!r}: expected three non-negative integers without "
                "leading zeros, as in '1.2.3'"
            )
        return cls(*(int(part) for part in match.groups()))

    def bump(self, kind: str) -> Version:
        """The next version of that kind ('major', 'minor' or 'patch'); lower parts reset."""
        if kind == "major":
            return Version(self.major + 1, 0, 0)
        if kind == "minor":
            return Version(self.major, self.minor + 1, 0)
        if kind == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise VersionError(f"unknown bump kind {kind!r}: expected one of {', '.join(BUMP_RULES)}")

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"
