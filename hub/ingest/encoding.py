"""Text encodings of CSV exports: UTF-8 (with or without BOM), GB18030/GBK, UTF-16."""

from __future__ import annotations

import codecs
from pathlib import Path

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


def decode(path: Path, data: bytes, declared: str) -> tuple[str, str]:
    """Decode with the declared encoding, or the detected one when `declared` is `auto`.

    Returns (text, encoding). A wrong declaration is an error naming the file, not garbage.
    """
    auto = declared == "auto"
    if auto:
        enc = detect_encoding(data[:SNIFF_BYTES], complete=len(data) <= SNIFF_BYTES)
    else:
        enc = declared
    try:
        return data.decode(enc), enc
    except UnicodeDecodeError as exc:
        # an ASCII-only first megabyte says nothing about Chinese text further down
        if auto and enc == "utf-8" and _decodes(data, "gb18030", True):
            return data.decode("gb18030"), "gb18030"
        if auto:
            raise EncodingError(
                f"文件 {path.name}：无法识别文件编码（已尝试 UTF-8、GB18030；"
                f"第 {exc.start} 字节处出错）"
            ) from None
        raise EncodingError(
            f"文件 {path.name} 不能按 {enc} 解码（第 {exc.start} 字节处出错）；"
            "请检查来源登记中的 encoding，或改为 auto 自动识别"
        ) from None
