"""The rooms of caretrack/ and who may import whom: a lower room never imports a higher one, nor one beside it.

Every module is parsed (imports inside functions included). A higher room reaches a lower one by importing it;
a lower room that needs something of a higher one gets it registered (core.web.register_nav,
core.access.register_scope_model / register_unit_tree, audit.describe.register_describer,
notify.calendar.register_feed_owner / register_feed_source, notify.models.register_recipient_model, ...).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "caretrack"

# Lower imports nothing higher; equal ranks do not import each other.
RANKS = {
    "core": 0,
    "jobs": 0.5,  # the task queue and its job rows: infrastructure every domain may use
    "audit": 0.6,  # a leaf service called by all, notify included (its robot settings are audited)
    "notify": 0.7,  # a leaf service called by all domains; it calls only core, jobs and audit
    "org": 1,
    "accounts": 2,
    "students": 3,
    "ledger": 4,
    "followups": 5,
    "activities": 5,
    "screening": 6,
    "summaries": 6.2,  # above screening: the yearly archive freezes the screening tables
    "duties": 6.5,  # units' duties: may read screening, summaries, ledger, students, org
    "dashboard": 7,
}
# Modules of the top level may import anything; the rooms may import only these of them.
TOP_LEVEL_FOR_ALL = {"extensions"}


def _imported(node: ast.AST, package: str) -> list[str]:
    """The absolute modules an import statement names (`package`: the dotted package of the importing file)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")
        base = base[:len(base) - node.level + 1]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if module == "caretrack":  # `from caretrack import students`: each name is a room or a top-level module
        return [f"caretrack.{alias.name}" for alias in node.names]
    return [module]


def violations(source: str, room: str, package: str, label: str) -> list[str]:
    """`label:line: room -> module` for every import of `source` that a module of `room` may not make."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for module in _imported(node, package):
            parts = module.split(".")
            if parts[0] != "caretrack" or len(parts) < 2 or parts[1] == room:
                continue
            other = parts[1]
            if other in RANKS:
                if RANKS[other] >= RANKS[room]:
                    found.append(f"{label}:{node.lineno}: {room} -> {module}")
            elif other not in TOP_LEVEL_FOR_ALL:
                found.append(f"{label}:{node.lineno}: {room} -> {module} (the top level is above every room)")
    return found


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if len(parts) > 1:  # inside a room; the top-level modules may import anything
            package = ".".join(("caretrack", *parts[:-1]))  # a package's __init__ sits in that package too
            yield path, parts[0], package


def test_every_room_has_a_rank():
    rooms = {room for _path, room, _package in _modules()}
    assert rooms <= set(RANKS), f"give these packages a rank in RANKS: {sorted(rooms - set(RANKS))}"


def test_no_room_imports_a_higher_room_or_one_beside_it():
    found = []
    for path, room, package in _modules():
        found += violations(path.read_text(encoding="utf-8"), room, package, str(path.relative_to(ROOT)))
    assert not found, "upward or sideways imports:\n" + "\n".join(found)


def test_the_checker_catches_upward_and_sideways_imports():
    source = """
from caretrack.core.access import Permission
from caretrack.extensions import db
import caretrack.students.models


def later():
    from caretrack.activities import views
    from ..screening import rules
    from caretrack import dashboard
    from . import queries
"""
    found = violations(source, "followups", "caretrack.followups", "caretrack/followups/fake.py")
    assert found == [
        "caretrack/followups/fake.py:8: followups -> caretrack.activities",
        "caretrack/followups/fake.py:9: followups -> caretrack.screening",
        "caretrack/followups/fake.py:10: followups -> caretrack.dashboard",
    ]
    assert violations("from caretrack.accounts.models import User\n", "core", "caretrack.core", "x.py") == [
        "x.py:1: core -> caretrack.accounts.models"]
    assert violations("import caretrack.cli\n", "jobs", "caretrack.jobs", "y.py") == [
        "y.py:1: jobs -> caretrack.cli (the top level is above every room)"]
