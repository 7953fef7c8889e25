"""Finding mappers: an explicit registry, filled from entry points or by hand.

Built-in mappers register through the ``fhir_server.mappers`` entry-point group exactly
like third-party ones, so a vendor ships a pip-installable package. Loading is lazy (only
when :func:`discover` is called, never at import), an allowlist selects which plugins load
(an empty one is the kill switch), and a broken or non-conforming plugin is logged and
skipped instead of taking the server down. Tests build :class:`MapperRegistry` directly.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from importlib.metadata import entry_points
from typing import TypeGuard

from fhir_server.ingest.spec import Mapper

GROUP = "fhir_server.mappers"

log = logging.getLogger(__name__)


class MapperRegistry:
    """Mappers by name, in registration order."""

    def __init__(self, mappers: Mapping[str, Mapper]) -> None:
        self._mappers = dict(mappers)

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self._mappers)

    def get(self, name: str) -> Mapper | None:
        """The mapper registered as ``name``, if any."""
        return self._mappers.get(name)

    def for_message_type(self, message_type: str) -> Mapper | None:
        """The mapper for an HL7 message type, most specific declaration first.

        Args:
            message_type: ``CODE^EVENT``; a longer MSH-9 (``ORU^R01^ORU_R01``) is accepted.

        Returns:
            The first mapper declaring ``CODE^EVENT``, else ``CODE^*``, else ``*``.
        """
        code, _, rest = message_type.strip().upper().partition("^")
        event = rest.partition("^")[0]
        for wanted in (f"{code}^{event}", f"{code}^*", "*"):
            for mapper in self._mappers.values():
                if wanted in mapper.message_types:
                    return mapper
        return None


def _conforms(mapper: object) -> TypeGuard[Mapper]:
    if not isinstance(mapper, Mapper):
        return False
    declared = (mapper.media_types, mapper.message_types)
    return (
        isinstance(mapper.name, str)
        and bool(mapper.name)
        and all(isinstance(d, frozenset) and all(isinstance(v, str) for v in d) for d in declared)
        and callable(mapper.map)
    )


def _instantiate(name: str, loaded: object) -> object | None:
    """The mapper an entry point designates: an instance, or a class/factory to call."""
    if isinstance(loaded, Mapper) and not isinstance(loaded, type):
        return loaded
    if not callable(loaded):
        return loaded
    try:
        created: object = loaded()
    except Exception as exc:  # a broken plugin must not take the server down
        log.warning("mapper %s could not be instantiated: %r", name, exc)
        return None
    return created


def discover(allow: Collection[str] | None) -> MapperRegistry:
    """Load the mappers registered in the ``fhir_server.mappers`` entry-point group.

    Args:
        allow: entry-point names to load; None loads all, an empty collection none.

    Returns:
        A registry of every plugin that loaded and satisfies the :class:`Mapper` protocol.
    """
    mappers: dict[str, Mapper] = {}
    for ep in entry_points(group=GROUP):
        if allow is not None and ep.name not in allow:
            continue
        if ep.name in mappers:
            log.warning("mapper %s is registered twice; keeping the first (%s)", ep.name, ep.value)
            continue
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin must not take the server down
            log.warning("mapper %s failed to load: %r", ep.name, exc)
            continue
        mapper = _instantiate(ep.name, loaded)
        if mapper is None:
            continue
        if not _conforms(mapper):
            log.warning("mapper %s does not satisfy fhir_server.ingest.spec.Mapper", ep.name)
            continue
        mappers[ep.name] = mapper
    return MapperRegistry(mappers)
