from caretrack.core.access import Role
from caretrack.students.models import Category
from tests.factories import identify, make_student, make_user
from tests.students.test_views import _one_of_each_record, _grow_the_university, page
from caretrack.extensions import db


def test_dump(city, login, count_queries):
    student = make_student(city.uni_class, student_no="F001")
    identify(student, 2025, Category.ORPHAN)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    _one_of_each_record(student)
    _grow_the_university(city, student)
    db.session.flush()
    with count_queries() as counter:
        page(client, f"/students/{student.id}")
    with open("/tmp/pages/stmts.txt", "w") as f:
        for s in counter.statements:
            f.write(" ".join(s.split())[:600] + "\n\n")
    print(counter.count)


def test_stacks(city, login, count_queries):
    import traceback
    from sqlalchemy import event
    student = make_student(city.uni_class, student_no="F001")
    identify(student, 2025, Category.ORPHAN)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    _one_of_each_record(student)
    db.session.flush()
    engine = db.engine
    out = open("/tmp/pages/stacks.txt", "w")

    def before(conn, cursor, statement, params, context, executemany):
        s = " ".join(statement.split())
        out.write("=== " + s[:200] + "\n")
        out.write("".join(l for l in traceback.format_stack(limit=40) if "/caretrack/" in l and "site-packages" not in l))
    event.listen(engine, "before_cursor_execute", before)
    try:
        page(client, f"/students/{student.id}")
    finally:
        event.remove(engine, "before_cursor_execute", before)
        out.close()
