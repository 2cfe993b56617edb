"""Base class and codec for every wire payload.

Payloads are versioned JSON objects (``"v": 1``). Producers always write the current version.
Consumers decode *tolerantly* in production (unknown fields are ignored, so a producer may add a
field before its consumers are upgraded) and *strictly* in tests (unknown fields are an error, so
a contract change fails CI instead of being silently dropped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from common.errors import InvalidMessage


class WireModel(BaseModel):
    """A frozen, versioned wire payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    _strict_keys: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys_when_strict(cls, data: Any, info: Any) -> Any:
        context = getattr(info, "context", None) or {}
        if context.get("strict") and isinstance(data, dict):
            unknown = (
                set(data)
                - set(cls.model_fields)
                - {f.alias for f in cls.model_fields.values() if f.alias}
            )
            if unknown:
                msg = f"unknown field(s) {sorted(unknown)} in {cls.__name__}"
                raise ValueError(msg)
        return data

    def to_json(self) -> bytes:
        """Serialise to compact JSON bytes (the exact bytes that cross the wire)."""
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str, *, strict: bool = False, subject: str = "") -> Self:
        """Decode a payload; raise :class:`InvalidMessage` (never retried) when it does not fit."""
        return decode_json(cls.model_validate_json, data, strict=strict, subject=subject)


T = TypeVar("T")


def decode_json(
    validate: Callable[..., T], data: bytes | str, *, strict: bool = False, subject: str = ""
) -> T:
    """Run a pydantic ``validate_json``; turn a failure into :class:`InvalidMessage`.

    The one place every contract's decoder maps "does not fit" to the never-retried error,
    with the subject, a summary of what was wrong and a preview of the payload.
    """
    try:
        return validate(data, context={"strict": strict})
    except ValidationError as exc:
        raise InvalidMessage(
            subject=subject, reason=_summarise(exc), payload=_preview(data)
        ) from exc


def _summarise(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        loc = ".".join(str(p) for p in error["loc"]) or "<root>"
        parts.append(f"{loc}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


_PREVIEW_CHARS = 200


def _preview(data: bytes | str) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "…"
