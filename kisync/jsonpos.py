"""Where each value and key of a JSON text starts, by JSON path.

``json.loads`` forgets positions, but a centre's web editor fixing a file
needs "line 812, column 17", not just ``data[41].origin.id``. This is a
small scanner for JSON that ``json.loads`` has already accepted: it walks
the text once, without recursion (deep nesting must not hit Python's
recursion limit), and records 1-based (line, column) per path.

Columns count characters, as ``json.JSONDecodeError.colno`` does, so a
syntax error and a validation error in the same file agree.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from json.decoder import scanstring

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A key and its colon in one match when the key has no escapes (the usual
# case); keys with escapes go through json's own scanstring.
_PLAIN_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
# What may follow a value: a comma or a closing bracket, with whitespace.
_AFTER_VALUE = re.compile(r"[ \t\n\r]*([,\]}])[ \t\n\r]*")
# Scalars: strings without escapes, numbers and literals. NaN/Infinity are
# not JSON (RFC 8259 §6) and are refused before anything is located.
_SCALAR = re.compile(r'"[^"\\\x00-\x1f]*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null')
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Position = tuple[int, int]


def join_key(parent: str, key: str) -> str:
    """``parent.key``, or ``parent["odd key"]`` when the key is not a plain name."""
    if _IDENTIFIER.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


def join_index(parent: str, index: int) -> str:
    return f"{parent}[{index}]"


def format_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """A JSON path from its parts: ``("data", 3, "origin", "id")`` -> ``data[3].origin.id``."""
    path = ""
    for part in parts:
        path = join_index(path, part) if isinstance(part, int) else join_key(path, str(part))
    return path


class _Lines:
    """Offset -> (line, column), with the newline index built on first use."""

    def __init__(self, text: str):
        self._text = text
        self._newlines: list[int] | None = None

    def position(self, offset: int) -> Position:
        if self._newlines is None:
            self._newlines = [match.start() for match in re.finditer("\n", self._text)]
        line = bisect_right(self._newlines, offset)  # newlines before offset
        line_start = self._newlines[line - 1] + 1 if line else 0
        return line + 1, offset - line_start + 1


class _PositionMap(Mapping[str, Position]):
    """Path -> (line, column), converted from stored offsets on access.

    Most paths are never asked for; converting only those keeps locating a
    10 MB document to one cheap pass.
    """

    def __init__(self, offsets: dict[str, int], lines: _Lines):
        self._offsets = offsets
        self._lines = lines

    def __getitem__(self, path: str) -> Position:
        return self._lines.position(self._offsets[path])

    def __iter__(self) -> Iterator[str]:
        return iter(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)


@dataclass
class Positions:
    """Start positions of every value (``values``) and object key (``keys``), by path.

    The root value's path is ``""``. A key's path is the path of its value,
    so an unknown key ``data[0].titel`` is found in ``keys`` under that name.
    """

    values: Mapping[str, Position]
    keys: Mapping[str, Position]
    # (path, key) of each key that repeats one before it in the same object:
    # json.loads keeps the last silently, which hides edits made to the first.
    duplicate_keys: list[tuple[str, str]] = field(default_factory=list)

    def nearest(self, parts: tuple[str | int, ...] | list[str | int]) -> Position | None:
        """Position of the value at ``parts``, or of its closest enclosing value.

        A missing field has no position of its own; its object's is the
        best place to point at.
        """
        for depth in range(len(parts), -1, -1):
            position = self.values.get(format_path(parts[:depth]))
            if position is not None:
                return position
        return None


def locate(text: str) -> Positions:
    """Positions of every value and key in ``text``, which must be valid JSON.

    Raises ``json.JSONDecodeError`` (a ``ValueError``, with line and
    column) when it is not.
    """
    values: dict[str, int] = {}
    keys: dict[str, int] = {}
    duplicates: list[tuple[str, str]] = []
    try:
        _scan(text, values, keys, duplicates)
    except IndexError:
        raise json.JSONDecodeError("Unexpected end of JSON text", text, len(text)) from None
    lines = _Lines(text)
    return Positions(_PositionMap(values, lines), _PositionMap(keys, lines), duplicates)


def _scan(text: str, values: dict[str, int], keys: dict[str, int], duplicates: list[tuple[str, str]]) -> None:
    """Record the offset of every value and key; one pass, no recursion."""
    skip = _WHITESPACE.match
    after_value = _AFTER_VALUE.match
    scalar = _SCALAR.match
    # One frame per open container: [is_object, path, array index or keys seen].
    stack: list[list] = []
    suffixes: dict[str, str] = {}  # key -> ".key" or '["odd key"]'; documents repeat their keys
    path = ""
    pos = skip(text, 0).end()
    while True:
        values[path] = pos
        char = text[pos]
        if char == "{":
            pos = skip(text, pos + 1).end()
            if text[pos] == "}":
                pos += 1
            else:
                frame = [True, path, set()]
                stack.append(frame)
                pos, path = _key(text, pos, frame, keys, duplicates, suffixes)
                continue
        elif char == "[":
            pos = skip(text, pos + 1).end()
            if text[pos] == "]":
                pos += 1
            else:
                stack.append([False, path, 0])
                path = f"{path}[0]"
                continue
        else:
            match = scalar(text, pos)
            if match:
                pos = match.end()
            elif char == '"':
                pos = scanstring(text, pos + 1, True)[1]
            else:
                raise json.JSONDecodeError(f"Unexpected character {char!r}", text, pos)
        # The value is complete: close containers until one continues.
        while True:
            if not stack:
                if skip(text, pos).end() != len(text):
                    raise json.JSONDecodeError("Extra data", text, skip(text, pos).end())
                return
            match = after_value(text, pos)
            if not match:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, skip(text, pos).end())
            frame = stack[-1]
            char = match.group(1)
            pos = match.end()
            if char == ",":
                if frame[0]:
                    pos, path = _key(text, pos, frame, keys, duplicates, suffixes)
                else:
                    frame[2] += 1
                    path = f"{frame[1]}[{frame[2]}]"
                break
            if char != ("}" if frame[0] else "]"):
                raise json.JSONDecodeError(f"Mismatched {char!r}", text, match.start(1))
            stack.pop()


def _key(
    text: str, pos: int, frame: list, keys: dict[str, int], duplicates: list[tuple[str, str]], suffixes: dict[str, str]
) -> tuple[int, str]:
    """Read ``"key" :`` at ``pos``; return the offset of its value and the value's path."""
    match = _PLAIN_KEY.match(text, pos)
    if match:
        key, end = match.group(1), match.end()
    else:
        if text[pos] != '"':
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
        key, end = scanstring(text, pos + 1, True)
        end = _WHITESPACE.match(text, end).end()
        if text[end] != ":":
            raise json.JSONDecodeError("Expecting ':' delimiter", text, end)
        end = _WHITESPACE.match(text, end + 1).end()
    suffix = suffixes.get(key)
    if suffix is None:
        bare = join_key("", key)
        suffix = suffixes[key] = bare if bare[0] == "[" else "." + bare
    parent = frame[1]
    path = parent + suffix if parent else suffix.removeprefix(".")
    keys[path] = pos
    seen = frame[2]
    if key in seen:
        duplicates.append((path, key))
    seen.add(key)
    return end, path
