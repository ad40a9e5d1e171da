"""Text for a terminal: control and bidirectional-override characters written as escapes.

User-controlled text (function names, dict keys of parameters, formulas and
their comments, exception messages) reaches the terminal in reports and
errors; an ESC or BEL byte in it must not move the cursor, retitle the
window or ring the bell, and a right-to-left override must not reorder what
follows. Shared by :mod:`chainrule.check`'s reports, :mod:`chainrule.explain`
and the command line; it imports nothing else of chainrule.

>>> terminal("ok\\x1b[2J\\u202e\\x07")
'ok\\\\x1b[2J\\\\u202e\\\\x07'
"""

from __future__ import annotations

import unicodedata

__all__ = ["terminal"]


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: str) -> str:
    """``text`` with every control (Cc) and format (Cf) character but newline and tab escaped."""
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
