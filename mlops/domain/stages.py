"""Release stages and model statuses: the one definition every module uses."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """A release stage. Values are the lower-case names stored in the registry and in URLs."""

    DEV = "dev"
    UAT = "uat"
    PROD = "prod"

    @classmethod
    def parse(cls, value: object, error: type[Exception] = ValueError) -> Stage:
        """The stage named by `value` (any case, surrounding spaces ignored); otherwise `error`
        (ValueError by default; callers pass their own error type) naming the accepted stages."""
        if isinstance(value, Stage):
            return value
        text = value.strip().lower() if isinstance(value, str) else value
        for stage in cls:
            if stage.value == text:
                return stage
        raise error(f"unknown stage {value!r}: expected one of {', '.join(s.value for s in cls)}")

    @property
    def label(self) -> str:
        """The stage as people write it: `DEV`, `UAT`, `PROD`."""
        return self.value.upper()


#: The stages in release order.
STAGES: tuple[Stage, ...] = (Stage.DEV, Stage.UAT, Stage.PROD)


class ModelStatus(StrEnum):
    """The status of a version record in the registry."""

    REGISTERED = "registered"
    FAILED = "failed"
    NOT_PROMOTED = "not-promoted"
    REJECTED = "rejected"


#: Statuses of versions that can never be the champion or be promoted.
NOT_SERVABLE: frozenset[ModelStatus] = frozenset(
    {ModelStatus.FAILED, ModelStatus.NOT_PROMOTED, ModelStatus.REJECTED}
)
