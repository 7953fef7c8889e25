"""A small UCUM canonicaliser, so that ``gt0.1|http://unitsofmeasure.org|g`` matches ``150 mg``.

https://hl7.org/fhir/R4/search.html#quantity. A UCUM code is parsed as a product of atoms
(``.``, ``/``, integer exponents, ``10*n`` factors, ``{annotations}`` ignored) and expressed
in base units. The canonical base is fixed: mass ``g``, length ``m`` (so litre is ``m3``:
``1 L`` is ``0.001 m3``), time ``s``, temperature ``K``, amount ``mol``, arbitrary
``[iU]``. The canonical code lists the base units in that order with their exponents,
``.``-separated: ``mg/dL`` is ``g.m-3`` (factor 10), ``mm[Hg]`` is ``g.m-1.s-2``
(factor 133322), ``/min`` and ``{beats}/min`` are ``s-1``, ``%`` is ``1`` (factor 0.01).
``Cel`` and ``[degF]`` are affine (an offset as well as a factor) and convert only when
they stand alone. Codes it cannot parse have no canonical form and compare only by
system and code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

UCUM_SYSTEM = "http://unitsofmeasure.org"

_BASE_ORDER = ("g", "m", "s", "K", "mol", "[iU]")
_Dims = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class _Atom:
    factor: Decimal
    dims: _Dims
    metric: bool


_DIM = re.compile(r"(?P<base>\D+?)(?P<exp>-?\d*)")


def _atom(factor: Decimal | str, dims: str, *, metric: bool) -> _Atom:
    parsed = []
    for dim in dims.split():
        match = _DIM.fullmatch(dim)
        assert match is not None
        parsed.append((match["base"], int(match["exp"] or 1)))
    return _Atom(Decimal(factor), tuple(parsed), metric)


_ATOMS: dict[str, _Atom] = {
    "g": _atom("1", "g", metric=True),
    "m": _atom("1", "m", metric=True),
    "s": _atom("1", "s", metric=True),
    "K": _atom("1", "K", metric=True),
    "mol": _atom("1", "mol", metric=True),
    "eq": _atom("1", "mol", metric=True),
    "L": _atom("0.001", "m3", metric=True),
    "l": _atom("0.001", "m3", metric=True),
    "Pa": _atom("1000", "g m-1 s-2", metric=True),
    "bar": _atom("100000000", "g m-1 s-2", metric=True),
    "m[Hg]": _atom("133322000", "g m-1 s-2", metric=True),
    "m[H2O]": _atom("9806650", "g m-1 s-2", metric=True),
    "J": _atom("1000", "g m2 s-2", metric=True),
    "cal": _atom("4184", "g m2 s-2", metric=True),
    "Hz": _atom("1", "s-1", metric=True),
    "U": _atom(Decimal("1e-6") / 60, "mol s-1", metric=True),
    "[iU]": _atom("1", "[iU]", metric=True),
    "[IU]": _atom("1", "[iU]", metric=True),
    "min": _atom("60", "s", metric=False),
    "h": _atom("3600", "s", metric=False),
    "d": _atom("86400", "s", metric=False),
    "wk": _atom("604800", "s", metric=False),
    "mo": _atom("2629800", "s", metric=False),
    "a": _atom("31557600", "s", metric=False),
    "[in_i]": _atom("0.0254", "m", metric=False),
    "[ft_i]": _atom("0.3048", "m", metric=False),
    "[lb_av]": _atom("453.59237", "g", metric=False),
    "[oz_av]": _atom("28.349523125", "g", metric=False),
    "%": _atom("0.01", "", metric=False),
    "[ppm]": _atom("0.000001", "", metric=False),
}

_PREFIXES = {
    "G": Decimal("1e9"),
    "M": Decimal("1e6"),
    "k": Decimal("1e3"),
    "h": Decimal("1e2"),
    "da": Decimal("1e1"),
    "d": Decimal("1e-1"),
    "c": Decimal("1e-2"),
    "m": Decimal("1e-3"),
    "u": Decimal("1e-6"),
    "n": Decimal("1e-9"),
    "p": Decimal("1e-12"),
    "f": Decimal("1e-15"),
}

_AFFINE = {
    "Cel": (Decimal(1), Decimal("273.15")),
    "[degF]": (Decimal(5) / Decimal(9), Decimal("273.15") - Decimal(32) * Decimal(5) / Decimal(9)),
}

_ANNOTATION = re.compile(r"\{[^}]*\}")
_TERM = re.compile(r"(?P<atom>.*?[^-+0-9])(?P<exp>[-+]?\d+)?")
_POWER_OF_TEN = re.compile(r"10[*^](?P<exp>[-+]?\d+)")


@dataclass(frozen=True, slots=True)
class CanonicalUnit:
    """How to express a value of some UCUM unit in canonical units.

    Attributes:
        code: the canonical unit code (e.g. ``g.m-3``).
        factor: multiply a value by this ...
        offset: ... then add this (non-zero only for ``Cel`` and ``[degF]``).
    """

    code: str
    factor: Decimal
    offset: Decimal = Decimal(0)

    def convert(self, value: Decimal) -> Decimal:
        """``value`` in canonical units."""
        return value * self.factor + self.offset


@cache
def canonical_unit(code: str) -> CanonicalUnit | None:
    """The canonical form of the UCUM ``code``, or None when it is not understood."""
    if not code:
        return None
    if code in _AFFINE:
        factor, offset = _AFFINE[code]
        return CanonicalUnit("K", factor, offset)
    try:
        parsed = _parse(code)
    except ArithmeticError:  # decimal overflow: 10*99999999999 and the like
        return None
    if parsed is None:
        return None
    factor, dims = parsed
    return CanonicalUnit(_format(dims), factor)


def _parse(code: str) -> tuple[Decimal, dict[str, int]] | None:
    text = _ANNOTATION.sub("", code) or "1"
    if text.startswith("/"):
        text = "1" + text
    factor, dims = Decimal(1), dict[str, int]()
    sign = 1
    for token in re.split(r"([./])", text):
        if token in (".", "/"):
            sign = 1 if token == "." else -1
            continue
        term = _term(token)
        if term is None:
            return None
        factor *= term[0] ** sign
        for base, exponent in term[1]:
            dims[base] = dims.get(base, 0) + sign * exponent
    return factor, dims


def _term(token: str) -> tuple[Decimal, _Dims] | None:
    if token.isdigit():
        return Decimal(token), ()
    power = _POWER_OF_TEN.fullmatch(token)
    if power is not None:
        return Decimal(10) ** int(power["exp"]), ()
    match = _TERM.fullmatch(token)
    if match is None:
        return None
    resolved = _resolve_atom(match["atom"])
    if resolved is None:
        return None
    scale, atom = resolved
    exponent = int(match["exp"] or 1)
    dims = tuple((base, power * exponent) for base, power in atom.dims)
    return (scale * atom.factor) ** exponent, dims


def _resolve_atom(symbol: str) -> tuple[Decimal, _Atom] | None:
    atom = _ATOMS.get(symbol)
    if atom is not None:
        return Decimal(1), atom
    for prefix, scale in _PREFIXES.items():
        if symbol.startswith(prefix):
            atom = _ATOMS.get(symbol[len(prefix) :])
            if atom is not None and atom.metric:
                return scale, atom
    return None


def _format(dims: dict[str, int]) -> str:
    order = {base: i for i, base in enumerate(_BASE_ORDER)}
    parts = [
        base if exponent == 1 else f"{base}{exponent}"
        for base, exponent in sorted(dims.items(), key=lambda item: order[item[0]])
        if exponent
    ]
    return ".".join(parts) or "1"
