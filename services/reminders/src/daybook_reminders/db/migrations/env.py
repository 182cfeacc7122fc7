from daybook_common.migrations import run_env
from daybook_reminders.db.models import Base

run_env(Base.metadata)
