"""The package build compiles the gettext catalogs: every ``src/neigou/locale/<lang>/LC_MESSAGES/*.po``
becomes a ``.mo`` beside it in the built package (in the source tree itself for an editable install,
which imports from there). The ``.mo`` files are build output, never committed."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path(__file__).resolve().parent / "src" / "neigou" / "locale"


def compile_catalogs(target: Path) -> None:
    """Write ``target/<lang>/LC_MESSAGES/<domain>.mo`` for each catalog; refuse a broken one."""
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        problems = [f"{po}: {message.id!r}: {error}" for message, errors in catalog.check() for error in errors]
        if problems:
            raise SystemExit("\n".join(problems))
        mo = target / po.relative_to(LOCALE).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as out:
            write_mo(out, catalog, use_fuzzy=False)


class BuildPyWithCatalogs(build_py):
    """``build_py`` that also compiles the catalogs."""

    def run(self) -> None:
        super().run()
        compile_catalogs(LOCALE if self.editable_mode else Path(self.build_lib) / "neigou" / "locale")


setup(cmdclass={"build_py": BuildPyWithCatalogs})
