r"""Query parameters to the search IR. https://hl7.org/fhir/R4/search.html

``parse_search`` validates every parameter against the registry once: OR by comma, AND
by repetition, modifiers, prefixes, escaping (``\,`` ``\$`` ``\|`` ``\\``), chaining
(``subject:Patient.name=x``, ``subject.name=x`` over every target type that has ``name``,
several levels), reverse chaining (``_has:Observation:patient:code=x``, nested), and the
result parameters ``_count`` (clamped to ``max_count``), ``_offset``, ``_sort``,
``_include``/``_revinclude`` (``:iterate``, ``*``), ``_total``, ``_summary``,
``_elements`` and ``_type``. ``_format`` and ``_pretty`` belong to the HTTP layer and are
skipped.

An unknown or unsupported parameter or modifier raises ``UnsupportedParameter`` when
``strict`` (``Prefer: handling=strict``) and otherwise becomes a warning ``Issue``; a
malformed value always raises ``InvalidRequest``. ``:not`` and the ``ne`` prefix become
``Not`` nodes (so a resource without the value matches ``:not``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, cast

from conformance.definitions import resource_types as all_resource_types
from fhir_server.errors import InvalidRequest, Issue, UnsupportedParameter
from fhir_server.search._text import split_escaped, unescape
from fhir_server.search._values import ValueContext, parse_value
from fhir_server.search.derived import derivation
from fhir_server.search.ir import (
    AllOf,
    AnyOf,
    Chain,
    Has,
    Include,
    Missing,
    Not,
    Query,
    SortKey,
    Term,
)
from fhir_server.search.registry import Registry, SearchParam

_SKIPPED = frozenset({"_format", "_pretty"})
_TOTALS = ("none", "estimate", "accurate")
_SUMMARIES = ("true", "false", "text", "data", "count")
_UNSORTABLE = frozenset({"composite", "special"})


def parse_search(
    resource_types: Sequence[str],
    params: Sequence[tuple[str, str]],
    registry: Registry,
    *,
    default_count: int,
    max_count: int,
    strict: bool,
    base_url: str | None = None,
    now: datetime | None = None,
) -> tuple[Query, list[Issue]]:
    """Parse decoded query parameters into a Query.

    Args:
        resource_types: the searched type (type level) or () for system level (``_type``).
        params: (name, value) pairs in request order, already URL-decoded.
        registry: the search parameters.
        default_count: page size without ``_count``.
        max_count: the largest page size; a larger ``_count`` is clamped.
        strict: raise on unknown parameters instead of warning.
        base_url: this server's base URL; absolute references under it become relative.
        now: the instant ``ap`` dates approximate against (default: the current time).

    Returns:
        The query and the warnings about skipped parameters.

    Raises:
        InvalidRequest: a malformed value (always).
        UnsupportedParameter: an unknown or unsupported parameter, when ``strict``.
    """
    ctx = ValueContext(registry, now or datetime.now(UTC), base_url)
    parser = _Parser(registry, ctx, strict, default_count, max_count)
    return parser.run(tuple(resource_types), params)


@dataclass(slots=True)
class _Results:
    """The result parameters collected so far."""

    count: int
    offset: int = 0
    sort: list[SortKey] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    total: Literal["none", "estimate", "accurate"] = "accurate"
    summary: Literal["true", "false", "text", "data", "count"] | None = None
    elements: list[str] = field(default_factory=list)


class _Parser:
    def __init__(
        self,
        registry: Registry,
        ctx: ValueContext,
        strict: bool,
        default_count: int,
        max_count: int,
    ) -> None:
        self._registry, self._ctx, self._strict = registry, ctx, strict
        self._max_count = max_count
        self._results = _Results(count=min(default_count, max_count))
        self._issues: list[Issue] = []

    def run(
        self, requested: tuple[str, ...], params: Sequence[tuple[str, str]]
    ) -> tuple[Query, list[Issue]]:
        types = self._types(requested, params)
        terms: list[Term] = []
        for name, value in params:
            if not value:
                continue  # a parameter with an empty value is ignored
            try:
                if name.split(":", 1)[0] in _RESULT_PARAMETERS:
                    self._result(name, value, types)
                else:
                    term = self._filter(name, value, types)
                    if isinstance(term, AllOf):  # a derived composite: its terms drive too
                        terms.extend(term.terms)
                    elif term is not None:
                        terms.append(term)
            except UnsupportedParameter as exc:
                self._skip(name, exc)
        results = self._results
        query = Query(
            resource_types=types or tuple(sorted(all_resource_types())),
            where=AllOf(tuple(terms)),
            count=results.count,
            offset=results.offset,
            sort=tuple(results.sort),
            includes=tuple(results.includes),
            total=results.total,
            summary=results.summary,
            elements=tuple(results.elements),
        )
        return query, self._issues

    def _skip(self, name: str, exc: UnsupportedParameter) -> None:
        if self._strict:
            raise exc
        warning = Issue(
            "warning", "not-supported", f"{exc.diagnostics}; ignored", (name,), exc.code
        )
        self._issues.append(warning)

    def _types(
        self, requested: tuple[str, ...], params: Sequence[tuple[str, str]]
    ) -> tuple[str, ...]:
        declared = [v for n, v in params if n == "_type"]
        if not declared:
            return requested
        if requested:
            self._skip("_type", UnsupportedParameter("_type applies to system-level search only"))
            return requested
        names = [unescape(t) for v in declared for t in split_escaped(v, ",") if t]
        for name in names:
            if name not in all_resource_types():
                raise _invalid("_type", name, "not a resource type")
        return tuple(dict.fromkeys(names))

    # -- filters ---------------------------------------------------------------------

    def _filter(self, name: str, value: str, types: tuple[str, ...]) -> Term | None:
        if name.startswith("_has:"):
            return self._has(name, value)
        head, _, rest = name.partition(".")
        code, _, modifier = head.partition(":")
        param = self._lookup(types, code)
        if rest:
            return self._chain(param, modifier or None, rest, value)
        return self._values(param, modifier or None, value)

    def _lookup(self, types: tuple[str, ...], code: str) -> SearchParam:
        found: SearchParam | None = None
        for resource_type in types or ("Resource",):
            param = self._registry.get(resource_type, code)
            if param is None:
                raise UnsupportedParameter(
                    f"unknown search parameter {code!r} for {resource_type}",
                    code="unknown-search-parameter",
                )
            found = found or param
        assert found is not None
        if not found.searchable:
            raise UnsupportedParameter(
                f"search parameter {code!r} is not supported", code="unsupported-search-parameter"
            )
        return found

    def _values(self, param: SearchParam, modifier: str | None, value: str) -> Term | None:
        self._check_modifier(param, modifier)
        if modifier == "missing":
            if value not in ("true", "false"):
                raise _invalid(param.code, value, "expected true or false")
            return self._missing(param, value == "true")
        leaves = [self._leaf(param, modifier, part) for part in split_escaped(value, ",") if part]
        if not leaves:
            return None
        term = leaves[0] if len(leaves) == 1 else AnyOf(tuple(leaves))
        return Not(term) if modifier == "not" else term

    def _leaf(self, param: SearchParam, modifier: str | None, value: str) -> Term:
        """One value of ``param``; a derived parameter becomes its parameters' terms."""
        derived = derivation(self._registry, param)
        if derived is None:
            return parse_value(param, modifier, value, self._ctx)
        if derived.mode == "any":
            return AnyOf(tuple(self._leaf(p, modifier, value) for p in derived.params))
        parts = split_escaped(value, "$")
        if len(parts) != len(derived.params):
            raise _invalid(
                param.code, value, f"expected {len(derived.params)} '$'-separated values"
            )
        return AllOf(
            tuple(self._leaf(p, None, v) for p, v in zip(derived.params, parts, strict=True))
        )

    def _missing(self, param: SearchParam, missing: bool) -> Term:
        """``:missing``; of a derived parameter: of any (``all`` mode) or all of its parameters."""
        derived = derivation(self._registry, param)
        if derived is None:
            return Missing(param.code, missing)
        terms = tuple(self._missing(p, missing) for p in derived.params)
        return AnyOf(terms) if (derived.mode == "all") == missing else AllOf(terms)

    def _check_modifier(self, param: SearchParam, modifier: str | None) -> None:
        if modifier is None or modifier in param.modifiers:
            return
        if param.type == "reference" and modifier in all_resource_types():
            if param.targets and modifier not in param.targets:
                raise _invalid(param.code, modifier, f"{modifier} is not a target of the parameter")
            return
        raise UnsupportedParameter(
            f"modifier :{modifier} is not supported for search parameter {param.code!r}",
            code="unsupported-search-modifier",
        )

    def _chain(
        self, param: SearchParam, modifier: str | None, rest: str, value: str
    ) -> Term | None:
        if param.type != "reference":
            raise UnsupportedParameter(
                f"search parameter {param.code!r} is not a reference and cannot be chained",
                code="unsupported-chain",
            )
        if modifier is not None:
            self._check_modifier(param, modifier)
            targets: tuple[str, ...] = (modifier,)
        else:
            next_code = rest.partition(".")[0].partition(":")[0]
            targets = tuple(t for t in param.targets if self._registry.get(t, next_code))
        if not targets:
            raise UnsupportedParameter(
                f"no target type of {param.code!r} has the parameter in {rest!r}",
                code="unknown-search-parameter",
            )
        chains: list[Term] = []
        for target in targets:
            where = self._filter(rest, value, (target,))
            if where is not None:
                chains.append(Chain(param.code, target, where))
        if not chains:
            return None
        return chains[0] if len(chains) == 1 else AnyOf(tuple(chains))

    def _has(self, name: str, value: str) -> Term | None:
        parts = name.split(":", 3)
        if len(parts) != 4 or not all(parts):
            raise _invalid(name, value, "expected _has:Type:reference:parameter")
        _, source, reference, rest = parts
        if source not in all_resource_types():
            raise _invalid(name, value, f"{source} is not a resource type")
        param = self._lookup((source,), reference)
        if param.type != "reference":
            raise _invalid(name, value, f"{reference} is not a reference parameter of {source}")
        where = self._filter(rest, value, (source,))
        return None if where is None else Has(source, reference, where)

    # -- result parameters -----------------------------------------------------------

    def _result(self, name: str, value: str, types: tuple[str, ...]) -> None:
        base, _, modifier = name.partition(":")
        if base in ("_include", "_revinclude"):
            self._include(base == "_revinclude", modifier, value)
        elif modifier:
            raise UnsupportedParameter(f"{name!r} takes no modifier", code="unsupported-modifier")
        elif base == "_count":
            self._results.count = min(_non_negative(name, value), self._max_count)
        elif base == "_offset":
            self._results.offset = _non_negative(name, value)
        elif base == "_sort":
            self._sort(value, types)
        elif base == "_total":
            if value not in _TOTALS:
                raise _invalid(name, value, "expected none, estimate or accurate")
            self._results.total = cast(Literal["none", "estimate", "accurate"], value)
        elif base == "_summary":
            if value not in _SUMMARIES:
                raise _invalid(name, value, "expected true, false, text, data or count")
            self._results.summary = cast(Literal["true", "false", "text", "data", "count"], value)
        elif base == "_elements":
            self._results.elements.extend(e.strip() for e in value.split(",") if e.strip())

    def _sort(self, value: str, types: tuple[str, ...]) -> None:
        for key in (k.strip() for k in value.split(",")):
            code = key.removeprefix("-")
            if not code:
                continue
            try:
                param = self._lookup(types, code)
                if param.type in _UNSORTABLE:
                    raise UnsupportedParameter(f"cannot sort by {code!r} ({param.type})")
                if derivation(self._registry, param) is not None:
                    raise UnsupportedParameter(
                        f"cannot sort by {code!r}: it is searched through other parameters"
                    )
            except UnsupportedParameter as exc:
                self._skip("_sort", exc)
                continue
            self._results.sort.append(SortKey(code, key.startswith("-"), param.type))

    def _include(self, reverse: bool, modifier: str, value: str) -> None:
        name = "_revinclude" if reverse else "_include"
        if modifier not in ("", "iterate", "recurse"):
            raise _invalid(f"{name}:{modifier}", value, "the modifier must be :iterate")
        iterate = bool(modifier)
        if value == "*":
            if reverse:
                raise UnsupportedParameter("_revinclude=* is not supported; name the source")
            self._results.includes.append(Include("*", "*", None, iterate, reverse))
            return
        parts = value.split(":")
        if len(parts) not in (2, 3) or parts[0] not in all_resource_types():
            raise _invalid(name, value, "expected SourceType:parameter[:TargetType] or *")
        target = parts[2] if len(parts) == 3 else None
        if target is not None and target not in all_resource_types():
            raise _invalid(name, value, f"{target} is not a resource type")
        if parts[1] != "*":
            param = self._lookup((parts[0],), parts[1])
            if param.type != "reference":
                raise _invalid(name, value, f"{parts[1]} is not a reference parameter")
        self._results.includes.append(Include(parts[0], parts[1], target, iterate, reverse))


_RESULT_PARAMETERS = frozenset(
    {"_count", "_offset", "_sort", "_include", "_revinclude", "_total", "_summary", "_elements"}
    | _SKIPPED
    | {"_type"}
)


def _invalid(name: str, value: str, what: str) -> InvalidRequest:
    return InvalidRequest(
        f"invalid value {value!r} for {name!r}: {what}",
        code="invalid-search-value",
        expression=(name,),
    )


def _non_negative(name: str, value: str) -> int:
    if not value.isdigit():
        raise _invalid(name, value, "expected a non-negative integer")
    return int(value)
