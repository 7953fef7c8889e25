"""A tiny SQL fragment type: text with its bound parameters, never interpolated values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sql:
    """SQL text with ``?`` placeholders and the values bound to them."""

    text: str
    params: tuple[object, ...] = ()

    @staticmethod
    def join(separator: str, parts: Sequence[Sql], empty: str) -> Sql:
        """Join fragments; ``empty`` stands in when there are none."""
        if not parts:
            return Sql(empty)
        return Sql(
            "(" + separator.join(p.text for p in parts) + ")",
            tuple(v for p in parts for v in p.params),
        )

    @staticmethod
    def all(parts: Iterable[Sql]) -> Sql:
        """AND of fragments (TRUE when none)."""
        return Sql.join(" AND ", list(parts), "1")

    def negate(self) -> Sql:
        """NOT of this fragment."""
        return Sql(f"NOT ({self.text})", self.params)
