"""Escaping user-controlled text for where it lands.

Labels, function names, argument paths and values come from the user's code
and reach HTML text and attributes, SVG, JSON inside ``<script>``, DOT files,
the terminal and rich's markup. Each destination has one function here.

Examples
--------
>>> markup('<b a="1">&</b>\\x1b[31m')
'&lt;b a=&quot;1&quot;&gt;&amp;&lt;/b&gt;\\\\x1b[31m'
>>> json_for_script({"t": "</script><!--"})
'{"t": "\\\\u003c/script\\\\u003e\\\\u003c!--"}'
>>> dot_string('a"b\\\\c\\n')
'"a\\\\"b\\\\\\\\c\\\\n"'
>>> terminal("ok\\x1b[2J\\u202e")
'ok\\\\x1b[2J\\\\u202e'
"""

from __future__ import annotations

import json
import re
import unicodedata
from html import escape
from typing import Any

__all__ = ["dot_string", "json_for_script", "markup", "terminal"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """Control and bidirectional-override characters written as escapes (no terminal tricks)."""
    if text.isprintable():  # no Cc or Cf character: the usual case, without a per-character loop
        return text
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            out.append(_visible(ch))
        else:
            out.append(ch)
    return "".join(out)


def markup(text: str) -> str:
    """HTML/SVG text or attribute value: entities escaped, control characters made visible."""
    return escape(_CONTROL.sub(lambda m: _visible(m.group()), text), quote=True)


def json_for_script(data: Any) -> str:
    """JSON that cannot end its ``<script>`` element or open a comment inside it."""
    text = json.dumps(data)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def dot_string(text: str) -> str:
    """A double-quoted DOT string (backslashes, quotes and line breaks escaped)."""
    clean = _CONTROL.sub(lambda m: _visible(m.group()), text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "") + '"'
