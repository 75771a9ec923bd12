"""How a library declares its settings: one frozen dataclass per library (fetching, extraction,
matching), each field's default written once with the reason beside it. A field that the
command line offers carries its flag and help here, so `newsbeam run --help`, the run's
options and the library's own default are one fact."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any


def setting(default: Any, *, flag: str | None = None, help: str | None = None) -> Any:  # noqa: A002
    """A settings field; with `flag`, offered on the command line as `flag` with `help` (the
    default is added to the help text)."""
    return dataclasses.field(default=default, metadata={"flag": flag, "help": help} if flag else {})


def command_line_fields(settings_class: type) -> Iterator[dataclasses.Field]:
    """The fields of a settings class that the command line offers, in their order."""
    return (field for field in dataclasses.fields(settings_class) if field.metadata.get("flag"))


def from_command_line(settings_class: type, args: Any) -> Any:
    """A library's settings: its defaults, with what the command line gave (an argparse
    namespace holding each offered field under its own name)."""
    return settings_class(**{field.name: getattr(args, field.name) for field in command_line_fields(settings_class)
                             if hasattr(args, field.name)})
