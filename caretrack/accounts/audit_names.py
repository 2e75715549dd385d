"""How the audit log names this domain's rows (audit/describe.py register_describer)."""

from caretrack.accounts.models import User
from caretrack.audit.describe import named, register_describer

register_describer("users", named(User, User.display_name))
