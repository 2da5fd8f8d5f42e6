"""Dockerfile words: quotes, the escape character and ``$VAR`` substitution (pure).

This follows docker's shell lexer (moby ``frontend/dockerfile/shell/lex.go``), because a student's
Dockerfile must mean here what it means under ``docker build``:

- ``'single quotes'`` are literal; ``"double quotes"`` substitute variables; both are removed;
- the escape character (``\\``, or a backtick after ``# escape=```) makes the next character
  literal; inside double quotes it only escapes ``"``, ``$`` and itself;
- ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:+alt}``, ``${VAR+alt}``,
  ``${VAR:?message}``; an unset variable is the empty string;
- :meth:`Lexer.words` splits on unquoted whitespace, and an unquoted variable's value is split
  too (as docker does); a quoted empty string is still a word.

>>> env = {"NAME": "world", "EMPTY": "", "TWO": "a b"}
>>> lex = Lexer()
>>> lex.word('"hello $NAME" \\'$NAME\\'', env)
'hello world $NAME'
>>> lex.word('${MISSING:-fallback} ${NAME:+set} ${EMPTY:-e} ${EMPTY-e}', env)
'fallback set e '
>>> lex.words('cp $TWO "$TWO" "" end', env)
['cp', 'a', 'b', 'a b', '', 'end']
>>> lex.word('price: \\\\$5 \\\\${NAME}', env)
'price: $5 ${NAME}'
>>> Lexer('`').word('C:\\\\dir `$NAME', env)
'C:\\\\dir $NAME'
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import InvalidArgument

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


class _Words:
    """Collects words; a word exists once any character (or a quote pair) was seen."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.current: list[str] = []
        self.started = False

    def char(self, ch: str) -> None:
        self.current.append(ch)
        self.started = True

    def literal(self, text: str) -> None:
        self.current.append(text)
        self.started = True

    def split(self, text: str) -> None:  # an unquoted expansion: its whitespace separates words
        for ch in text:
            if ch.isspace():
                self.end()
            else:
                self.char(ch)

    def end(self) -> None:
        if self.started:
            self.done.append("".join(self.current))
        self.current, self.started = [], False


class Lexer:
    def __init__(self, escape: str = "\\") -> None:
        self.escape = escape

    def word(self, text: str, env: Mapping[str, str]) -> str:
        """One word: quotes removed, variables substituted, whitespace kept (WORKDIR, ENV values)."""
        return _Scan(text, env, self.escape, split=False).run()[0]

    def words(self, text: str, env: Mapping[str, str]) -> list[str]:
        """Whitespace-separated words, each processed like :meth:`word` (COPY, EXPOSE, …)."""
        return _Scan(text, env, self.escape, split=True).run()[1]


class _Scan:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, *, split: bool) -> None:
        self.text, self.env, self.escape, self.split = text, env, escape, split
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def run(self, stop: str = "") -> tuple[str, list[str]]:
        """Scan until ``stop`` (unquoted) or the end; returns (joined text, words)."""
        result: list[str] = []
        words = _Words()
        while self.pos < len(self.text):
            ch = self.peek()
            if stop and ch == stop:
                break
            self.pos += 1
            if ch == "'":
                piece = self.single_quoted()
                result.append(piece)
                words.literal(piece)
            elif ch == '"':
                piece = self.double_quoted()
                result.append(piece)
                words.literal(piece)
            elif ch == "$":
                piece = self.dollar()
                result.append(piece)
                words.split(piece)
            elif ch == self.escape:
                if self.pos >= len(self.text):
                    break  # a lone escape at the very end is dropped, as docker does
                piece = self.next()
                result.append(piece)
                words.char(piece)
            elif self.split and ch.isspace():
                result.append(ch)
                words.end()
            else:
                result.append(ch)
                words.char(ch)
        words.end()
        return "".join(result), words.done

    def single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise InvalidArgument("unexpected end of statement while looking for matching single-quote")
        piece, self.pos = self.text[self.pos:end], end + 1
        return piece

    def double_quoted(self) -> str:
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise InvalidArgument("unexpected end of statement while looking for matching double-quote")
            ch = self.next()
            if ch == '"':
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
            elif ch == self.escape and self.peek() in ('"', "$", self.escape) and self.peek():
                out.append(self.next())
            else:
                out.append(ch)

    def name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        return self.text[start:self.pos]

    def dollar(self) -> str:
        """After a ``$``: the substituted value (or a literal ``$`` when no name follows)."""
        if self.peek() != "{":
            name = self.name()
            return self.env.get(name, "") if name else "$"
        self.pos += 1
        name = self.name()
        if not name:
            raise InvalidArgument(f"bad substitution: ${{{self.text[self.pos:self.pos + 10]}")
        ch = self.next()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.next()
        if ch not in ("-", "+", "?"):
            raise InvalidArgument(f"unsupported modifier ({ch or 'end of line'}) in substitution ${{{name}…}}"
                                  if ch else f"missing '}}' in substitution ${{{name}")
        word = _Scan(self.text[self.pos:], self.env, self.escape, split=False)
        operand, _ = word.run(stop="}")
        self.pos += word.pos
        if self.next() != "}":
            raise InvalidArgument(f"missing '}}' in substitution ${{{name}")
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not colon)
        if ch == "-":
            return value if is_set else operand  # type: ignore[return-value]
        if ch == "+":
            return operand if is_set else ""
        if not is_set:  # '?': a required variable
            raise InvalidArgument(f"{name}: {operand or 'is not allowed to be unset'}")
        return value  # type: ignore[return-value]


def split_raw(text: str, escape: str = "\\") -> list[str]:
    """Whitespace-separated words keeping their quotes and escapes (docker's ``parseWords``):
    how ``ENV a="x y" b=z`` is cut into pairs before each pair is substituted.

    >>> split_raw('a="x y" b=\\'$z\\' c=d\\\\ e')
    ['a="x y"', "b='$z'", 'c=d\\\\ e']
    """
    words: list[str] = []
    current: list[str] = []
    quote = ""
    chars = iter(text)
    for ch in chars:
        if quote:
            current.append(ch)
            if ch == escape and quote == '"':
                current.append(next(chars, ""))
            elif ch == quote:
                quote = ""
            continue
        if ch == escape:
            current.append(ch)
            current.append(next(chars, ""))
        elif ch in ("'", '"'):
            quote = ch
            current.append(ch)
        elif ch.isspace():
            if current:
                words.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quote:
        raise InvalidArgument(f"unmatched {'single' if quote == chr(39) else 'double'} quote")
    if current:
        words.append("".join(current))
    return words
