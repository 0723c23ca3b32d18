"""Reading the file: its format from its name, its encoding, and its CSV or JSON records.

A record is (line, cells by column, problems by column): the CSV rows, and JSON row objects
made to look like them. JSON product objects come out of `json_items` as they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator

from marketplace.catalog.importer.columns import COLUMNS, REQUIRED_COLUMNS
from marketplace.catalog.importer.errors import ImportRefused

FORMATS = {".csv": "csv", ".json": "json"}

_WHITESPACE = re.compile(r"[ \t\n\r]*")

Record = tuple[int, dict[str, str], dict[str, str]]


def format_of(filename: str) -> str:
    """"csv" or "json", from the file name's suffix (any case); ImportRefused for others."""
    suffix = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    if suffix not in FORMATS:
        raise ImportRefused(f"{filename!r}: the file name must end in .csv or .json")
    return FORMATS[suffix]


def decode(content: bytes) -> str:
    """The file as text: UTF-8, with or without a byte-order mark; any other encoding is refused."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused("the file is UTF-16; save it as UTF-8 (in Excel: \"CSV UTF-8\")", line=1)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise ImportRefused(
            f"the file is not UTF-8: byte 0x{content[exc.start]:02X} cannot be read (is it Latin-1 or Windows-1252?); "
            "save it as UTF-8 (in Excel: \"CSV UTF-8\")", line=line,
        ) from None


def csv_records(text: str) -> Iterator[Record]:
    """(line, cells by column, problems) for each non-blank data row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        _check_header(header)
        while True:
            line = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                return
            if not any(cell.strip() for cell in record):
                continue
            unnamed = record[len(header):] + [cell for name, cell in zip(header, record) if not name]
            problems = {None: "a value in a column the header does not name"} if any(c.strip() for c in unnamed) else {}
            yield line, {name: cell for name, cell in zip(header, record) if name}, problems
    except csv.Error as exc:
        raise ImportRefused(f"not readable as CSV: {exc}", line=reader.line_num) from None


def _check_header(header: list[str]) -> None:
    if not any(header):
        raise ImportRefused("the file is empty; line 1 must name the columns", line=1)
    problems = []
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        problems.append(f"unknown columns {', '.join(unknown)}")
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        problems.append(f"repeated columns {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if not any(name.startswith("title_") for name in header):
        missing.append("a title_<language> column")
    if missing:
        problems.append(f"missing columns {', '.join(missing)}")
    if problems:
        raise ImportRefused("; ".join(problems) + f" (the columns are {','.join(COLUMNS)})", line=1)


def json_items(text: str) -> Iterator[tuple[int, object]]:
    """(line where it starts, value) for each element of the top-level list."""
    decoder, lines = json.JSONDecoder(), _LineCounter(text)
    position = _WHITESPACE.match(text, 0).end()
    if text[position:position + 1] != "[":
        raise ImportRefused("expected a JSON list of products or of rows, starting with [", line=lines.at(position))
    position = _WHITESPACE.match(text, position + 1).end()
    if text[position:position + 1] == "]":
        if _WHITESPACE.match(text, position + 1).end() != len(text):
            raise ImportRefused("not valid JSON: something follows the list", line=lines.at(position))
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ImportRefused(f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
        yield lines.at(position), value
        position = _WHITESPACE.match(text, end).end()
        separator = text[position:position + 1]
        position = _WHITESPACE.match(text, position + 1).end()
        if separator == "]" and position == len(text):
            return
        if separator != ",":
            raise ImportRefused("not valid JSON: expected , or ] after an element, and nothing after the list",
                                line=lines.at(position))


class _LineCounter:
    """Line numbers of increasing offsets, without rescanning the text from its start."""

    def __init__(self, text: str):
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def json_records(items: Iterable[tuple[int, object]]) -> Iterator[Record]:
    """JSON row objects as CSV records: numbers become text, unknown keys are problems."""
    for line, item in items:
        if not isinstance(item, dict):
            yield line, {}, {None: "expected an object with the CSV columns as keys"}
            continue
        cells, problems = {}, {}
        for column, value in item.items():
            if column not in COLUMNS:
                problems[column] = "unknown column"
            elif value is None:
                cells[column] = ""
            elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
                cells[column] = str(value)
            else:
                problems[column] = "expected text or a number"
        yield line, cells, problems
