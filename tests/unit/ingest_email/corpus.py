"""Where the shared real-mail corpus lives and how to read Zammad's expectations.

The corpus is /work/shared/data/emails (next to the repository): mails written by
other projects, read-only for us; see shared/data/SOURCES.md for where each folder
comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.ingest import shared_data

DATA = shared_data()
EMAILS = (DATA / "emails").resolve()


def mail_files() -> list[Path]:
    """Every file under emails/, sorted (the .yml expectations included)."""
    if not EMAILS.is_dir():
        return []
    return sorted(path for path in EMAILS.rglob("*") if path.is_file())


def relative(path: Path) -> str:
    return path.relative_to(EMAILS).as_posix()


def read(relative_path: str) -> bytes:
    return (EMAILS / relative_path).read_bytes()


def zammad_expectation(yml: Path) -> dict[str, Any]:
    """A mailNNN.yml as a plain dict. Needs PyYAML (a test dependency, imported here so
    that only the Zammad comparison depends on it)."""
    import yaml

    class RubyTolerantLoader(yaml.SafeLoader):
        """Zammad dumps Ruby objects: `!ruby/hash:ActiveSupport::HashWithIndifferentAccess`
        mappings and `!binary` strings. We only need them as plain dicts and strings."""

    def plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        assert isinstance(node, yaml.ScalarNode)
        return loader.construct_scalar(node)

    RubyTolerantLoader.add_multi_constructor("!", plain)
    loaded = yaml.load(yml.read_bytes(), Loader=RubyTolerantLoader)
    return loaded if isinstance(loaded, dict) else {}
