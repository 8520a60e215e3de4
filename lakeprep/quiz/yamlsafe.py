"""Safe YAML reading that remembers where every mapping and key sits in the file.

Validation messages must name a line the author can jump to, so banks are *composed* into a node
tree first (which keeps `start_mark`), then constructed from that same tree. Only the safe
loaders are used: a bank or a learner's submission can never instantiate Python objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

# libyaml's loader is ~10x faster for grading a class; the pure-Python one is the same grammar.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlSyntaxError(ValueError):
    """The text is not YAML; `line` is 1-based (0 when unknown)."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.line = line


@dataclass
class Located:
    """Line numbers (1-based) of one YAML node and of the keys and items inside it."""

    line: int
    keys: dict[str, int] = field(default_factory=dict)
    children: dict[Any, "Located"] = field(default_factory=dict)
    duplicates: list[tuple[str, int]] = field(default_factory=list)

    def key_line(self, key: str) -> int:
        """The line of `key`, or of this node when the key is absent (the place to add it)."""
        return self.keys.get(key, self.line)

    def child(self, key: Any) -> "Located":
        """The located value under a mapping key or a sequence index (this node if unknown)."""
        return self.children.get(key) or Located(self.keys.get(key, self.line) if isinstance(key, str) else self.line)


def _locate(node: yaml.Node, depth: int = 0) -> Located:
    here = Located(node.start_mark.line + 1)
    if depth > 4:  # banks nest three levels deep; deeper structure needs no line numbers
        return here
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in here.keys:
                here.duplicates.append((key, key_node.start_mark.line + 1))
                continue
            here.keys[key] = key_node.start_mark.line + 1
            here.children[key] = _locate(value_node, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            here.children[index] = _locate(item, depth + 1)
    return here


def load_located(text: str) -> tuple[Any, Located]:
    """Parse one YAML document safely; return the data and the line map of its nodes."""
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Located(1)
        data = loader.construct_document(node)
        return data, _locate(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(f"{exc.problem or exc.context or 'invalid YAML'}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc).splitlines()[0] if str(exc) else "invalid YAML", 0) from None
    finally:
        loader.dispose()


def load(text: str) -> Any:
    """Parse one YAML document with the safe loader (no line map: the fast path for grading)."""
    try:
        return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - SafeLoader/CSafeLoader only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(f"{exc.problem or exc.context or 'invalid YAML'}", line) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc).splitlines()[0] if str(exc) else "invalid YAML", 0) from None


def dump(data: Any) -> str:
    """YAML for files the engine writes (exam submissions): plain, block style, key order kept."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
