"""Loading device templates from JSON or YAML files, with errors that name the field."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mappers.devices.template import Template

BUNDLED = Path(__file__).parent / "templates"
SUFFIXES = frozenset({".json", ".yaml", ".yml"})


class TemplateError(Exception):
    """A template file that cannot be used, with every problem found in it."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(f"{source}: " + "; ".join(self.problems))


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where or '(template)'}: {error['msg']}")
    return problems


def parse_template(data: Any, source: str = "<template>") -> Template:
    """Validate a template already read into Python data.

    Raises:
        TemplateError: listing every invalid field.
    """
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        raise TemplateError(source, _problems(exc)) from exc


def load_template(path: Path) -> Template:
    """Read and validate one template file (``.json``, ``.yaml`` or ``.yml``).

    Raises:
        TemplateError: when the file cannot be read, parsed or validated.
    """
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise TemplateError(str(path), [f"cannot read: {exc}"]) from exc
    return parse_template(data, str(path))


def load_directory(directory: Path) -> tuple[Template, ...]:
    """Every template file of a directory, in file-name order; names must be unique.

    Raises:
        TemplateError: for the first invalid file, or a name used twice.
    """
    templates = tuple(load_template(p) for p in sorted(directory.iterdir()) if p.suffix in SUFFIXES)
    seen: set[str] = set()
    for template in templates:
        if template.name in seen:
            raise TemplateError(str(directory), [f"template name {template.name!r} is used twice"])
        seen.add(template.name)
    return templates


def bundled_templates() -> tuple[Template, ...]:
    """The templates shipped with the server."""
    return load_directory(BUNDLED)
