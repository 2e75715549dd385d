"""One import machinery for units, students and disbursements.

Every row is validated first. A file with any bad row writes nothing unless the caller asks to skip bad
rows; the report names each bad row's line, column and reason. Rows are applied in batches; applying the
same file twice changes nothing the second time, because each importer matches rows on their identity
and only writes what differs. A dry run (the preview) also counts what the valid rows of a refused file would
change, so that the preview can offer to import just those.
"""

import gc
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from flask_babel import gettext as _

from caretrack.core import text
from caretrack.core.errors import DomainError
from caretrack.core.tabular import FileRefused, Table, open_table
from caretrack.extensions import db


@dataclass(frozen=True)
class Column:
    """A column of an import format; `required` columns must be in the header."""

    name: str
    required: bool = False


@dataclass
class RowError:
    line: int
    column: str | None
    reason: str


@dataclass
class ImportReport:
    """What an import did, or would do in a dry run."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    refused: bool = False
    refused_reason: str | None = None
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)
    valid: int = 0  # rows without an error
    file_refused: bool = False  # the file as a whole cannot be imported, not even its valid rows

    MAX_CHANGES_LISTED = 200

    @property
    def changes_anything(self) -> bool:
        return bool(self.created or self.updated)

    @property
    def error_groups(self) -> list["ErrorGroup"]:
        return group_errors(self.errors)

    @property
    def summary(self) -> str:
        """The line the CLI prints last."""
        return (f"created {self.created}, updated {self.updated}, "
                f"unchanged {self.unchanged}, invalid {self.invalid}")

    def note_change(self, text: str) -> None:
        if len(self.changes) < self.MAX_CHANGES_LISTED:
            self.changes.append(text)


@dataclass
class ErrorGroup:
    """One reason on one column, with every line that has it ("92 行：单位代码不在您的管理范围内")."""

    column: str | None
    reason: str
    lines: list[int]

    MAX_RANGES_SHOWN = 40

    @property
    def lines_text(self) -> str:
        """The lines as ranges: 2–40、45、47–48 (the first few dozen ranges, then 等)."""
        ranges: list[list[int]] = []
        for line in sorted(set(self.lines)):
            if ranges and line == ranges[-1][1] + 1:
                ranges[-1][1] = line
            else:
                ranges.append([line, line])
        shown = [f"{a}" if a == b else f"{a}–{b}" for a, b in ranges[:self.MAX_RANGES_SHOWN]]
        return _("、").join(shown) + (_("等") if len(ranges) > self.MAX_RANGES_SHOWN else "")


def group_errors(errors: list[RowError]) -> list[ErrorGroup]:
    """Identical errors (same column, same reason) together, in the order of their first line."""
    groups: dict[tuple[str | None, str], ErrorGroup] = {}
    for error in sorted(errors, key=lambda e: e.line):
        key = (error.column, error.reason)
        if key not in groups:
            groups[key] = ErrorGroup(error.column, error.reason, [])
        groups[key].lines.append(error.line)
    return list(groups.values())


MULTI_VALUE_SEPARATORS = re.compile(r"[、，,;；]")
YES = {"是", "y", "yes", "1", "true"}
NO = {"否", "n", "no", "0", "false"}


def split_multi(cell: str) -> list[str]:
    """The values of a cell holding several, separated by 、 ， , ; or ；."""
    return [part.strip() for part in MULTI_VALUE_SEPARATORS.split(cell or "") if part.strip()]


def parse_yes_no(cell: str, column: str, default: bool | None = False) -> bool | None:
    """是/否 (also Y/N, 1/0, true/false); an empty cell gives `default`."""
    value = (cell or "").strip().lower()
    if not value:
        return default
    if value in YES:
        return True
    if value in NO:
        return False
    raise RowInvalid((column, _("“%(value)s”不是有效的是/否值。", value=cell)))


class RowInvalid(Exception):
    """Raised by a row validator; carries one or more errors for the row."""

    def __init__(self, *errors: tuple[str | None, str]):
        super().__init__(errors)
        self.errors = errors


class Importer(ABC):
    """Base of an import: subclasses declare the columns, validate a row, and apply a validated row.

    `validate(line, row)` returns a parsed value or raises RowInvalid; `check_file(parsed_rows)` may report
    errors across rows (duplicates); `apply(parsed)` writes one row and returns "created", "updated" or
    "unchanged". `prepare()` runs once before validation, to load look-ups in a few queries.
    """

    columns: tuple[Column, ...] = ()
    batch_size = 1000

    def prepare(self) -> None:  # noqa: B027 - optional hook, most importers need no preparation
        """Load what validation needs in bulk."""

    @abstractmethod
    def validate(self, line: int, row: dict[str, str]) -> Any:
        """Parse and check one row; raise RowInvalid with every fault found."""

    def check_file(self, parsed: list[tuple[int, Any]]) -> Iterable[RowError]:
        """Errors that only the whole file shows, such as a value repeated on two lines."""
        return ()

    @abstractmethod
    def apply(self, parsed: Any) -> str:
        """Write one validated row; return "created", "updated" or "unchanged"."""

    def apply_batch(self, batch: list[Any]) -> list[str]:
        """Write a batch of validated rows; importers of large files write a batch in a few statements."""
        return [self.apply(parsed) for parsed in batch]

    def finish(self, report: "ImportReport") -> None:  # noqa: B027 - optional hook
        """Run once after the last batch (e.g. to audit the import as a whole)."""

    def order(self, rows: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """The order to apply validated rows in (the file's order unless an importer needs another)."""
        return rows

    def describe(self, parsed: Any) -> str:
        """A short text for the dry-run list of changes."""
        return ""


def check_headers(importer: Importer, table: Table, report: ImportReport) -> None:
    """Refuse a file missing a required column before any row is read; note unknown columns."""
    known = {column.name for column in importer.columns}
    missing = [c.name for c in importer.columns if c.required and c.name not in table.headers]
    report.unknown_columns = [h for h in table.headers if h and h not in known]
    if missing:
        raise FileRefused(_("缺少必填列：%(columns)s。", columns="、".join(missing)))


def refuse_control_characters(importer: Importer, row: dict, known: frozenset[str] | None = None) -> None:
    """Refuse a row whose cells of the format's columns hold control characters, as the forms do
    (`known`: the format's column names, when the caller has them at hand).
    """
    known = known if known is not None else frozenset(column.name for column in importer.columns)
    cells = (list(row.values()) if known.issuperset(row)  # a file of the format's columns only: every cell
             else [cell for name, cell in row.items() if name in known])
    try:
        joined = "".join(cells)
    except TypeError:  # a cell that is not text (core.tabular gives only text)
        joined = "".join(cell for cell in cells if isinstance(cell, str))
    if not text.has_control_characters(joined):
        return  # the usual row: one search over its cells, joined
    bad = [name for name, cell in row.items() if name in known and text.has_control_characters(cell)]
    if bad:
        raise RowInvalid(*((name, text.control_character_message()) for name in bad))


def _validate_all(importer: Importer, table: Table, report: ImportReport,
                  progress: Callable[[str, int], None] | None) -> list[tuple[int, Any]]:
    importer.report = report  # validators may add warnings
    parsed_rows: list[tuple[int, Any]] = []
    bad_lines: set[int] = set()
    known = frozenset(column.name for column in importer.columns)
    for count, (line, row) in enumerate(table.rows, start=1):
        try:
            refuse_control_characters(importer, row, known)
            parsed_rows.append((line, importer.validate(line, row)))
        except RowInvalid as invalid:
            bad_lines.add(line)
            report.errors.extend(RowError(line, column, reason) for column, reason in invalid.errors)
        if progress and count % 1000 == 0:
            progress("validate", count)
    for error in importer.check_file(parsed_rows):
        bad_lines.add(error.line)
        report.errors.append(error)
    report.errors.sort(key=lambda e: e.line)
    report.invalid = len(bad_lines)
    valid = [(line, parsed) for line, parsed in parsed_rows if line not in bad_lines]
    report.valid = len(valid)
    return valid


def _apply_all(importer: Importer, rows: list[tuple[int, Any]], report: ImportReport,
               progress: Callable[[str, int], None] | None) -> None:
    change_labels = {"created": _("新增"), "updated": _("更新")}
    if progress:
        progress("write", 0)
    for start in range(0, len(rows), importer.batch_size):
        batch = [parsed for _line, parsed in rows[start:start + importer.batch_size]]
        for parsed, outcome in zip(batch, importer.apply_batch(batch), strict=True):
            setattr(report, outcome, getattr(report, outcome) + 1)
            if outcome != "unchanged" and len(report.changes) < report.MAX_CHANGES_LISTED:
                report.note_change(f"{change_labels[outcome]}：{importer.describe(parsed)}")
        db.session.flush()
        if progress:
            progress("write", start + len(batch))
    importer.finish(report)
    db.session.flush()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the import, and resume it after.

    An import keeps every validated row of the file in memory; each full collection would walk all of them
    again (on a 50,000-row re-import, 5 of its 11 seconds). The import makes few reference cycles, so memory
    does not grow for the pause. Whoever paused a running collector resumes it, so concurrent imports end
    with it running.
    """
    was_running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_running:
            gc.enable()


def run_import(importer: Importer, stream: BinaryIO, filename: str, *, skip_invalid: bool = False,
               dry_run: bool = False, progress: Callable[[str, int], None] | None = None) -> ImportReport:
    """Validate the whole file, then apply it inside a savepoint; roll it back on a refusal or a dry run.

    The caller commits the session when the report is neither refused nor a dry run.
    """
    with _collector_paused():
        return _run_import(importer, stream, filename, skip_invalid, dry_run, progress)


def _run_import(importer: Importer, stream: BinaryIO, filename: str, skip_invalid: bool, dry_run: bool,
                progress: Callable[[str, int], None] | None) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    try:
        table = open_table(stream, filename)
        check_headers(importer, table, report)
        importer.prepare()
        valid_rows = _validate_all(importer, table, report, progress)
    except (FileRefused, DomainError) as refused:
        report.refused = report.file_refused = True
        report.refused_reason = refused.message
        return report
    rows_refused = bool(report.invalid and not skip_invalid)
    if rows_refused:
        report.refused = True
        report.refused_reason = _("文件中有 %(n)d 行有误，未导入任何数据。", n=report.invalid)
        if not dry_run or not valid_rows:
            report.file_refused = not valid_rows
            return report
    savepoint = db.session.begin_nested()
    try:
        _apply_all(importer, importer.order(valid_rows), report, progress)
    except DomainError as error:
        savepoint.rollback()
        report.refused = report.file_refused = True
        report.refused_reason = error.message
        return report
    if dry_run:
        savepoint.rollback()  # a preview, which of a refused file counts what its valid rows would change
    else:
        savepoint.commit()
    return report
