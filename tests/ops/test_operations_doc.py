"""docs/operations.md's configuration reference is every Settings field, with its default and meaning.

Run ``python tests/ops/test_operations_doc.py`` to rewrite the table after changing boostkg/config.py.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path

from boostkg.config import PROJECT_ROOT, Settings

DOC = PROJECT_ROOT / "docs" / "operations.md"
BEGIN = "<!-- settings table: generated from boostkg/config.py by tests/ops/test_operations_doc.py -->"
END = "<!-- end of settings table -->"


def _default(value: object) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, Path):
        try:
            return f"`<project>/{value.relative_to(PROJECT_ROOT).as_posix()}`"
        except ValueError:
            if value.is_absolute() and PROJECT_ROOT.parent in value.parents:
                return f"`<project>/../{value.relative_to(PROJECT_ROOT.parent).as_posix()}`"
            return f"`{value.as_posix()}`"
    if isinstance(value, tuple):
        return "`" + ",".join(map(str, value)) + "`" if value else "(empty)"
    if isinstance(value, float) and value.is_integer():
        return f"`{value:g}`"
    if isinstance(value, int) and value >= 1024 and value % 1024 == 0:
        return (
            f"`{value}` ({value // 1024:,} KiB)"
            if value < 1024**2
            else f"`{value}` ({value / 1024**2:g} MiB)"
        )
    return f"`{value}`"


def _meaning(name: str) -> str:
    field = Settings.model_fields[name]
    text = field.description or ""
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        text += f" One of: {', '.join(m.value for m in annotation)}."
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    """The Markdown table of every ``BOOSTKG_`` setting: variable, default, meaning."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `BOOSTKG_{name.upper()}` | {_default(field.default)} | {_meaning(name)} |")
    return "\n".join(rows)


def _section(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


def test_every_setting_is_in_the_configuration_reference() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert _section(text) == settings_table(), (
        "docs/operations.md's settings table is out of date: run python tests/ops/test_operations_doc.py"
    )
    for name in Settings.model_fields:
        assert f"`BOOSTKG_{name.upper()}`" in text


def test_every_setting_has_a_meaning() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def _rewrite() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + settings_table() + "\n" + text[end:], encoding="utf-8")


if __name__ == "__main__":
    _rewrite()
    sys.stdout.write(f"rewrote the settings table of {DOC}\n")
