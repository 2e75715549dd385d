"""How the audit log names this domain's rows (audit/describe.py register_describer)."""

from caretrack.activities.models import Club
from caretrack.audit.describe import named, register_describer

register_describer("clubs", named(Club, Club.name))
