"""Text encodings of CSV exports: UTF-8 (with or without BOM), GB18030/GBK, UTF-16."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Detection looks at a prefix: decoding a whole large file twice only to name its encoding
# would double the read cost. `decode` still checks the whole file.
SNIFF_BYTES = 1 << 20


class EncodingError(ValueError):
    pass


def detect_encoding(data: bytes, complete: bool = True) -> str:
    """Name the encoding of `data`; GB18030 is tried after UTF-8 because it decodes GBK too.

    `complete=False` says `data` is a prefix of the file, so a multibyte character cut at
    its end is not an error.

    Example:
        >>> detect_encoding("姓名".encode("gb18030"))
        'gb18030'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for enc in ("utf-8", "gb18030"):
        if _decodes(data, enc, complete):
            return enc
    raise EncodingError("无法识别文件编码（已尝试 UTF-8、GB18030）")


def _decodes(data: bytes, enc: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(enc)().decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


# A few lines in another encoding (a row pasted in from an older export) do not make the file
# unreadable: they are decoded with U+FFFD for what does not fit, and staging quarantines the
# rows whose cells hold it (hub.normalize.stage). More than this share of lines: a wrong guess.
MIXED_LINES = 0.01
_BAD_LINE = re.compile("^.*\ufffd.*$", re.M)
_WIDE_LINE = re.compile("^.*[^\x00-\x7f].*$", re.M)
# a line of valid UTF-8 with at least one CJK-range character: in a GB18030 file it is a line
# pasted from a UTF-8 export (GB18030 decodes it too, as the wrong characters)
_U8 = rb"(?:[\x00-\x09\x0b-\x7f]|[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3})*"
# matched by pyarrow (RE2) against each line with its newline: Python's `re` tries a match at
# every byte of the file, 2.8 s on a city's 434 MB register against 0.2 s
_UTF8_LINE = (b"^" + _U8 + rb"[\xe3-\xe9][\x80-\xbf]{2}" + _U8 + b"\n?$").decode("latin-1")


def _mark(line: str) -> str:
    """Every cell of a line in another encoding starts with U+FFFD, so staging quarantines
    the row whichever of its columns it maps (hub.normalize.stage)."""
    return "\ufffd" + re.sub("([,\t])", "\\1\ufffd", line)


def _few(bad: int, lines: int, wide: int) -> bool:
    """Few bad lines, and far more good lines of text beyond ASCII: the encoding is right."""
    return 0 < bad <= max(1, lines * MIXED_LINES) and wide >= 3 * bad


def _utf8_lines_in_gb(data: bytes, text: str) -> str:
    """`text` (a GB18030 decoding of `data`) with its few UTF-8 lines marked."""
    hits = _utf8_lines(data)
    if not hits:
        return text
    lines = text.split("\n")
    wide = len(_WIDE_LINE.findall(text)) - len(hits)
    if len(lines) != data.count(b"\n") + 1 or not _few(len(hits), len(lines), wide):
        return text
    for at, line in hits:
        lines[at] = _mark(line.rstrip(b"\n").decode("utf-8"))
    return "\n".join(lines)


def _utf8_lines(data: bytes) -> list[tuple[int, bytes]]:
    """(number from 0, bytes) of each line of `data` that is valid UTF-8 with a character of
    the CJK range: the lines as one Arrow array over `data` itself, no copy of it."""
    buf = np.frombuffer(data, np.uint8)
    step = 1 << 22  # newlines found a slice at a time: a mask that stays in cache
    ends = np.concatenate(
        [np.flatnonzero(buf[i : i + step] == 10) + (i + 1) for i in range(0, len(buf), step)]
        or [np.zeros(0, np.int64)]
    )
    offsets = np.concatenate([[0], ends.astype(np.int64), [len(buf)]])
    lines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    found = pc.indices_nonzero(pc.match_substring_regex(lines, pattern=_UTF8_LINE))
    return [(i, lines[i].as_py()) for i in found.to_pylist()]


def _bad_lines(data: bytes, enc: str, text: str | None = None) -> int:
    """Lines that do not decode in `enc` (a U+FFFD written in the file itself is no error)."""
    text = data.decode(enc, errors="replace") if text is None else text
    return len(_BAD_LINE.findall(text)) - len(_BAD_LINE.findall(data.decode(enc, "ignore")))


def _mostly(data: bytes, enc: str) -> str | None:
    """`data` in `enc` with its few undecodable lines marked — or None unless they are few
    and far more lines of text beyond ASCII decode cleanly (evidence that `enc` is right)."""
    if enc == "utf-16":
        return None
    lines = data.count(b"\n") + 1
    allowed = max(1, lines * MIXED_LINES)
    parts, bad, wide = [], 0, 0
    # a megabyte of lines at a time (no character of UTF-8 or GB18030 spans a newline byte),
    # stopping at the first one that makes the bad lines too many: a file in another
    # encoding is turned down in a few megabytes, not after decoding and scanning all of it
    for chunk in _line_chunks(data):
        text = chunk.decode(enc, errors="replace")
        bad += _bad_lines(chunk, enc, text)
        if bad > allowed:
            return None
        wide += len(_WIDE_LINE.findall(text))
        parts.append(text)
    wide -= bad  # lines beyond ASCII that decoded cleanly
    if not _few(bad, lines, wide):
        return None
    text = _BAD_LINE.sub(lambda m: _mark(m.group()), "".join(parts))
    # in a GB18030 file the bad lines may be UTF-8 ones: shown readable (still marked)
    return _utf8_lines_in_gb(data, text) if enc in ("gb18030", "gbk") else text


def _line_chunks(data: bytes) -> Iterator[bytes]:
    """`data` in pieces of about SNIFF_BYTES, each ending at a newline (the last at the end)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + SNIFF_BYTES) + 1 or len(data)
        yield data[start:end]
        start = end


def decode(path: Path, data: bytes, declared: str) -> tuple[str, str]:
    """Decode `data`; returns (text, encoding).

    The file decides, the registration only breaks ties: a byte-order mark, then valid UTF-8
    (Chinese text in another encoding is practically never valid UTF-8), then the declared
    encoding, then GB18030. Exports change encoding when a department changes systems, so a
    registered encoding is not trusted over the bytes.
    """
    head = data[:SNIFF_BYTES]
    complete = len(data) <= SNIFF_BYTES
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        order = [detect_encoding(head, complete)]
        if (
            data.startswith(b"\xef\xbb\xbf")
            and not _decodes(head[3:], "utf-8", complete)
            and _mostly(data[3:], "utf-8") is None  # not a UTF-8 file with a few bad lines
        ):
            # a UTF-8 mark some tools put before GB18030 text: the bytes after it decide
            return decode(path, data[3:], "gb18030")
    elif b"\x00" in head:  # UTF-16 without a byte-order mark: only a declaration can say
        order = [declared] if declared != "auto" else ["utf-16"]
    else:
        order = ["utf-8", *([declared] if declared not in ("auto", "utf-8") else []), "gb18030"]
    for i, enc in enumerate(dict.fromkeys(order)):
        if i == 1 and (text := _mostly(data, order[0])):
            return text, order[0]  # the first choice fits all but a few lines: it is right
        if _decodes(head, enc, complete):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue  # the prefix fitted, the rest does not: try the next encoding
            return (_utf8_lines_in_gb(data, text) if enc in ("gb18030", "gbk") else text), enc
    for enc in dict.fromkeys(order):
        if text := _mostly(data, enc):
            return text, enc
    tried = "、".join(e.upper() for e in dict.fromkeys(order))
    raise EncodingError(f"无法识别文件编码（已尝试 {tried}）")  # the reader names the file
