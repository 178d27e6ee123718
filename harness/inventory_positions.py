"""Where each key of a TOML document sits, so inventory errors point at the real line.

`tomllib` returns values without positions. This scanner walks the same text (already known
to be valid TOML) and records the offset of every table header, key and array element by its
path, e.g. ("boards", "bench", "uart", "baud") or ("boards", "bench", "external_flash", 0).
"""

from __future__ import annotations

import bisect
import re

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n#]")


class KeyPositions:
    """Line numbers of keys by path; unknown paths fall back to their closest known parent."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.offsets: dict[Path, int] = {}
        self._arrays: dict[Path, int] = {}
        self._scan()

    def line(self, path: Path) -> int:
        """1-based line of `path`, or of its longest recorded prefix (1 if none)."""
        for k in range(len(path), 0, -1):
            offset = self.offsets.get(path[:k])
            if offset is not None:
                return bisect.bisect_right(self._line_starts, offset)
        return 1

    # -- scanner -----------------------------------------------------------------------
    def _record(self, path: Path, offset: int) -> None:
        for k in range(1, len(path)):
            self.offsets.setdefault(path[:k], offset)
        self.offsets.setdefault(path, offset)

    def _skip(self, i: int, newlines: bool = True) -> int:
        """Past whitespace and comments (and newlines when `newlines`)."""
        text = self.text
        while i < len(text):
            c = text[i]
            if c in " \t\r" or (newlines and c == "\n"):
                i += 1
            elif c == "#":
                end = text.find("\n", i)
                i = len(text) if end < 0 else end
            else:
                break
        return i

    def _key(self, i: int) -> tuple[list[str], int]:
        """A dotted key starting at `i` (whitespace allowed around the dots)."""
        text = self.text
        parts: list[str] = []
        while i < len(text):
            i = self._skip(i, newlines=False)
            if i < len(text) and text[i] in "\"'":
                end = self._string_end(i)
                raw = text[i + 1 : end - 1]
                parts.append(raw.encode().decode("unicode_escape") if text[i] == '"' else raw)
                i = end
            else:
                m = _BARE.match(text, i)
                if not m:
                    break
                parts.append(m.group())
                i = m.end()
            i = self._skip(i, newlines=False)
            if i < len(text) and text[i] == ".":
                i += 1
                continue
            break
        return parts, i

    def _string_end(self, i: int) -> int:
        text = self.text
        for quote in ('"""', "'''"):
            if text.startswith(quote, i):
                end = text.find(quote, i + 3)
                while end >= 0 and text.startswith(quote[0], end + 3):
                    end += 1  # up to two quotes may end the content itself
                return len(text) if end < 0 else end + 3
        quote = text[i]
        j = i + 1
        while j < len(text) and text[j] != quote and text[j] != "\n":
            j += 2 if quote == '"' and text[j] == "\\" else 1
        return j + 1

    def _value(self, i: int, path: Path) -> int:
        text = self.text
        if i >= len(text):
            return i
        c = text[i]
        if c in "\"'":
            return self._string_end(i)
        if c == "[":
            i, index = i + 1, 0
            while True:
                i = self._skip(i)
                if i >= len(text) or text[i] == "]":
                    return i + 1
                self._record((*path, index), i)
                i = self._skip(self._value(i, (*path, index)))
                if i < len(text) and text[i] == ",":
                    i, index = i + 1, index + 1
                elif i < len(text) and text[i] != "]":
                    i += 1  # not valid TOML; keep moving
        if c == "{":
            i += 1
            while True:
                i = self._skip(i, newlines=False)
                if i >= len(text) or text[i] in "}\n":
                    return i + 1
                start = i
                key, i = self._key(i)
                if not key:
                    i += 1
                    continue
                self._record((*path, *key), start)
                i = self._skip(i, newlines=False)
                if i < len(text) and text[i] == "=":
                    i = self._value(self._skip(i + 1, newlines=False), (*path, *key))
                i = self._skip(i, newlines=False)
                if i < len(text) and text[i] == ",":
                    i += 1
        m = _SCALAR_END.search(text, i)
        return len(text) if m is None else m.start()

    def _scan(self) -> None:
        text = self.text
        table: Path = ()
        i = 0
        while True:
            i = self._skip(i)
            if i >= len(text):
                return
            if text.startswith("[[", i):
                key, j = self._key(i + 2)
                base = tuple(key)
                index = self._arrays.get(base, -1) + 1
                self._arrays[base] = index
                table = (*base, index)
                self._record(table, i)
                i = text.find("\n", j)
            elif text[i] == "[":
                key, j = self._key(i + 1)
                table = tuple(key)
                self._record(table, i)
                i = text.find("\n", j)
            else:
                start = i
                key, i = self._key(i)
                if not key:
                    i = text.find("\n", i)
                else:
                    self._record((*table, *key), start)
                    i = self._skip(i, newlines=False)
                    if i < len(text) and text[i] == "=":
                        i = self._value(self._skip(i + 1, newlines=False), (*table, *key))
            if i < 0:
                return
