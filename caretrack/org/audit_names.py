"""How the audit log names this domain's rows (audit/describe.py register_describer)."""

from caretrack.audit.describe import named, register_describer
from caretrack.org.models import College, SchoolClass, Unit

register_describer("units", named(Unit, Unit.name))
register_describer("colleges", named(College, College.name))
register_describer("classes", named(SchoolClass, SchoolClass.name))
