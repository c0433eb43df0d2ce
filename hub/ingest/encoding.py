"""Text encodings of CSV exports: UTF-8 (with or without BOM), GB18030/GBK, UTF-16."""

from __future__ import annotations

from pathlib import Path


class EncodingError(ValueError):
    pass


def detect_encoding(data: bytes) -> str:
    """Name the encoding of `data`; GB18030 is tried after UTF-8 because it decodes GBK too.

    Example:
        >>> detect_encoding("姓名".encode("gb18030"))
        'gb18030'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise EncodingError("无法识别文件编码（已尝试 UTF-8、GB18030）") from None


def decode(path: Path, data: bytes, declared: str) -> tuple[str, str]:
    """Decode with the declared encoding, or the detected one when `declared` is `auto`.

    Returns (text, encoding). A wrong declaration is an error naming the file, not garbage.
    """
    enc = detect_encoding(data) if declared == "auto" else declared
    try:
        return data.decode(enc), enc
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"文件 {path.name} 不能按 {enc} 解码（第 {exc.start} 字节处出错）；"
            "请检查来源登记中的 encoding，或改为 auto 自动识别"
        ) from None
