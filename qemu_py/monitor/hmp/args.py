"""HMP argument parsing (monitor/hmp.c monitor_parse_arguments).

Each command declares its arguments as QEMU's ``args_type`` string, e.g.
``"fmt:/,addr:l"`` or ``"flatview:-f,owner:-o"``. Kinds handled here:

* ``s`` a word or a double-quoted string, ``S`` the rest of the line
  (``?`` after either: optional);
* ``i`` (32-bit) and ``l`` (64-bit) expressions, ``?`` optional;
* ``-X`` a flag; flags must come in the declared order;
* ``/`` the ``/{count}{format}{size}`` of x and xp. Format and size are
  sticky: the last ones given are the defaults of the next command, for
  every monitor of the machine (QEMU keeps them in static variables).

A parse error is printed (QEMU's texts) and the command is not run.
"""

from __future__ import annotations

import weakref

from .expr import SPACES, ExprError, get_expr


class DumpDefaults:
    def __init__(self):
        self.format = "x"
        self.size = 4


_defaults: "weakref.WeakKeyDictionary[object, DumpDefaults]" = weakref.WeakKeyDictionary()


def dump_defaults(vm) -> DumpDefaults:
    d = _defaults.get(vm)
    if d is None:
        d = _defaults[vm] = DumpDefaults()
    return d


def skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in SPACES:
        pos += 1
    return pos


def get_str(text: str, pos: int) -> tuple[str | None, int]:
    """A word or a "quoted string" with \\n \\r \\\\ \\' \\" escapes: (value or None, end)."""
    pos = skip_spaces(text, pos)
    if pos >= len(text):
        return None, pos
    out = []
    if text[pos] == '"':
        pos += 1
        while pos < len(text) and text[pos] != '"':
            ch = text[pos]
            if ch == "\\":
                esc = text[pos + 1] if pos + 1 < len(text) else ""
                pos += 2
                if esc == "n":
                    ch = "\n"
                elif esc == "r":
                    ch = "\r"
                elif esc in ("\\", "'", '"'):
                    ch = esc
                else:
                    return None, pos
            else:
                pos += 1
            out.append(ch)
        if pos >= len(text):
            return None, pos                 # unterminated string
        pos += 1
    else:
        while pos < len(text) and text[pos] not in SPACES:
            out.append(text[pos])
            pos += 1
    return "".join(out)[:1023], pos


def _arg_specs(args_type: str):
    """(key, kind, rest of the spec, the args_type text after this argument) per argument."""
    parts = [p for p in args_type.split(",") if p]
    out = []
    for i, part in enumerate(parts):
        key, _, spec = part.partition(":")
        out.append((key, spec[:1], spec[1:], "," + ",".join(parts[i + 1:])))
    return out


def parse_arguments(mon, cmd, text: str, pos: int) -> dict | None:
    """The arguments of CMD from TEXT[POS:], or None after printing why not."""
    out = mon.out
    args: dict = {}
    specs = _arg_specs(cmd.args_type)
    for key, kind, rest, remaining in specs:
        optional = rest.startswith("?")
        if kind in ("s", "S"):
            pos = skip_spaces(text, pos)
            if optional and pos >= len(text):
                continue
            if kind == "S":
                if pos >= len(text):
                    out.write(f"{cmd.name}: string expected\n")
                    return None
                args[key] = text[pos:]
                pos = len(text)
                continue
            value, pos = get_str(text, pos)
            if value is None:
                out.write(f"{cmd.name}: string expected\n")
                return None
            args[key] = value
        elif kind == "/":
            pos = _parse_format(mon, text, pos, args)
            if pos is None:
                return None
        elif kind in ("i", "l"):
            pos = skip_spaces(text, pos)
            if optional and pos >= len(text):
                continue
            try:
                value, pos = get_expr(text, pos, mon.register_reader())
            except ExprError as e:
                out.write(f"{e}\n")
                return None
            if kind == "i" and (value >> 32) & 0xFFFFFFFF:
                out.write(f"'{cmd.name}' has failed: integer is for 32-bit values\n")
                return None
            args[key] = value
        elif kind == "-":
            letter = rest[:1]
            start = pos
            pos = skip_spaces(text, pos)
            if pos < len(text) and text[pos] == "-":
                given = text[pos + 1] if pos + 1 < len(text) else ""
                if given != letter:
                    if "-" + given not in remaining:
                        # QEMU prints the letter with %c: a missing one ends the text
                        out.write(f"{cmd.name}: unsupported option -{given}\n" if given else
                                  f"{cmd.name}: unsupported option -")
                        return None
                    pos = start                # a later flag: leave it for that one
                else:
                    pos += 2
                    args[key] = True
            # no option given here: nothing to record
        else:
            out.write(f"{cmd.name}: unknown type '{kind}'\n")
            return None
    pos = skip_spaces(text, pos)
    if pos < len(text):
        out.write(f"{cmd.name}: extraneous characters at the end of line\n")
        return None
    return args


def _parse_format(mon, text: str, pos: int, args: dict) -> int | None:
    defaults = dump_defaults(mon.vm)
    pos = skip_spaces(text, pos)
    if pos < len(text) and text[pos] == "/":
        pos += 1
        count = 1
        if pos < len(text) and text[pos].isdigit() and text[pos].isascii():
            count = 0
            while pos < len(text) and text[pos].isdigit() and text[pos].isascii():
                count = (count * 10 + int(text[pos])) & 0xFFFFFFFF
                pos += 1
            if count >= 1 << 31:
                count -= 1 << 32               # a C int
        size = fmt = None
        while pos < len(text):
            ch = text[pos]
            if ch in "oduxic":
                fmt = ch
            elif ch in "bhwgL":
                size = {"b": 1, "h": 2, "w": 4, "g": 8, "L": 8}[ch]
            else:
                break
            pos += 1
        if pos < len(text) and text[pos] not in SPACES:
            mon.out.write(f"invalid char in format: '{text[pos]}'\n")
            return None
        if fmt is None:
            fmt = defaults.format
        if fmt != "i":
            if size is None:
                size = defaults.size
            defaults.size = size
        defaults.format = fmt
    else:
        count = 1
        fmt = defaults.format
        size = defaults.size if fmt != "i" else -1
    if size is None:
        size = -1
    args.update(count=count, format=fmt, size=size)
    return pos
