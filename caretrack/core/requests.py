"""The request owns the transaction: it commits once, at the end, when the view succeeded; else it rolls back.

The shape of indico's `RH.process`: the view loads, checks, calls services (which only flush) and builds the
whole response, a rendered page or a redirect to a URL it has computed. Then, and only then, the request
commits. Nothing reads the database after the commit, so `expire_on_commit` cannot turn a write that committed
into a 500 that the user retries into a duplicate.

A request succeeded when no exception escaped its view (or its before-request checks) and its response status
is below 400: a redirect after a successful POST commits, so does the session-expiry redirect with its audit
row; a form shown again with its errors (400), a 403, a 404 or a 500 writes nothing. A view that must keep
what it wrote even though it answers with an error (a refused login's attempt and audit row) says so with
`commit_anyway()`; one that refuses with a flash and a redirect says `roll_back_anyway()`.

Callbacks queued with `after_commit` (group-robot messages) run only once the commit went through; those of a
request that rolled back are dropped. Callbacks queued with `after_request_ends` (giving a lease back) run
whatever the outcome. A commit that fails becomes an error page of its own: 409 when someone else saved first,
503 when the database is unavailable, never a 500 with half a response.
"""

import logging
from collections.abc import Callable

from flask import Flask, current_app, g, has_request_context, render_template, request, session
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from caretrack.extensions import db

log = logging.getLogger(__name__)

_FAILED = "_transaction_failed"
_COMMIT_ANYWAY = "_transaction_commit_anyway"
_ROLL_BACK_ANYWAY = "_transaction_roll_back_anyway"
_AFTER_COMMIT = "_transaction_after_commit"
_AFTER_END = "_transaction_after_end"


_MEMO_TRANSACTION = "caretrack.memo.transaction"


def request_memo(name: str) -> dict:
    """A dict that lives as long as the current request, for reads a page repeats (its terms, its user's units).

    Kept in the WSGI environ, not on `g`: tests run many requests inside one app context. Outside a request, a
    new empty dict each time, so tasks and the CLI always read afresh.
    """
    if not has_request_context():
        return {}
    memo = request.environ.setdefault("caretrack.memo", {})
    # Rows read in one transaction are not reused in the next: a task run inside the request (the queue's immediate
    # mode) commits as it goes, and a row kept from before a commit belongs to a transaction that has ended.
    transaction = db.session().get_transaction()
    if memo.get(_MEMO_TRANSACTION) is not transaction:
        memo.clear()
        memo[_MEMO_TRANSACTION] = transaction
    return memo.setdefault(name, {})


_WROTE = "caretrack.wrote"


def wrote_changes() -> bool:
    """Whether this request has written a row (the audit trail aside): a form submitted unchanged has not."""
    return has_request_context() and request.environ.get(_WROTE, False)


def _is_a_change(table) -> bool:
    return table is not None and not table.info.get("not_a_change")


def _note_flush(session, _context, _instances) -> None:
    if not has_request_context() or request.environ.get(_WROTE):
        return
    touched = [*session.new, *session.deleted, *(obj for obj in session.dirty if session.is_modified(obj))]
    if any(_is_a_change(getattr(type(obj), "__table__", None)) for obj in touched):
        request.environ[_WROTE] = True


def _note_statement(state) -> None:
    """Bulk INSERT / UPDATE / DELETE statements write too (an import's rows, a set-based stamp)."""
    if has_request_context() and (state.is_insert or state.is_update or state.is_delete):
        if _is_a_change(getattr(state.statement, "table", None)):
            request.environ[_WROTE] = True


def after_commit(callback: Callable[[], object]) -> None:
    """Run `callback` once this request's transaction has committed; never if it rolls back."""
    g.setdefault(_AFTER_COMMIT, []).append(callback)


def after_request_ends(callback: Callable[[], object]) -> None:
    """Run `callback` once this request's transaction has ended, committed or rolled back."""
    g.setdefault(_AFTER_END, []).append(callback)


def commit_anyway() -> None:
    """Commit this request's writes although its response is an error status (not if an exception escapes)."""
    setattr(g, _COMMIT_ANYWAY, True)


def roll_back_now() -> None:
    """Undo this request's writes at once (a flush that lost a race), so the page can read what is saved now."""
    db.session.rollback()
    roll_back_anyway()


def roll_back_anyway() -> None:
    """Roll this request's writes back although it redirects (a refusal flashed on the page it goes back to)."""
    setattr(g, _ROLL_BACK_ANYWAY, True)


def _succeeded(response) -> bool:
    if g.get(_FAILED) or g.get(_ROLL_BACK_ANYWAY):
        return False
    return response.status_code < 400 or bool(g.get(_COMMIT_ANYWAY))


def _run(key: str) -> None:
    for callback in g.pop(key, []):
        try:
            callback()
        except Exception:  # the response is decided: a failing callback is logged, it does not undo the commit
            log.exception("after-transaction callback %r failed", callback)


def stale_page():
    """The page for an edit that lost the race to someone else's save (the form's own check says the same)."""
    return _error_page(409, _("已被他人修改"),
                       _("该记录已被他人修改。请查看最新内容后重新填写；您填写的内容仍保留在表单中。"))


def _commit_failed_page(error: Exception):
    if isinstance(error, StaleDataError):
        return stale_page()
    if isinstance(error, IntegrityError):
        return _error_page(409, _("保存冲突"), _(
            "要保存的内容与已有记录冲突（可能已被他人或重复提交保存），本次操作没有保存。请刷新页面查看最新内容。"))
    from caretrack.core import outage

    return outage.unavailable_page(error)


def _error_page(status: int, title: str, message: str):
    return current_app.make_response(
        (render_template("errors/error.html", status=status, title=title, message=message), status))


def _end_transaction(response):
    """Commit when the request succeeded, else roll back; then run what waited for the outcome."""
    if not _succeeded(response):
        db.session.rollback()
        g.pop(_AFTER_COMMIT, None)
        _run(_AFTER_END)
        return response
    try:
        db.session.commit()
    except (StaleDataError, DBAPIError) as error:  # DBAPIError: the server gone, the connection lost, ...
        db.session.rollback()
        g.pop(_AFTER_COMMIT, None)
        _run(_AFTER_END)
        session.pop("_flashes", None)  # "saved" was flashed for the next page: nothing was
        log.warning("commit failed (%s); rolled back", type(error).__name__)
        return _commit_failed_page(error)
    _run(_AFTER_END)
    _run(_AFTER_COMMIT)
    return response


def init_app(app: Flask) -> None:
    """Make every request end in one commit or one rollback.

    Registered last, so this runs before the other after-request functions (Flask runs them in reverse):
    the security headers also go on a page that replaces a response whose commit failed.
    """
    handle_user_exception = app.handle_user_exception

    def mark_failed_and_handle(error):
        # Flask turns an exception from a view into a response (an error page, or anything an error handler
        # returns, even a redirect): whatever that response is, the request failed.
        setattr(g, _FAILED, True)
        return handle_user_exception(error)

    app.handle_user_exception = mark_failed_and_handle
    app.after_request(_end_transaction)
    # On the Session class, not db.session: the tests bind sessions of their own to an outer transaction.
    if not event.contains(Session, "before_flush", _note_flush):
        event.listen(Session, "before_flush", _note_flush)
        event.listen(Session, "do_orm_execute", _note_statement)
