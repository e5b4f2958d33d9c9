"""Block, callback and subcommand ids of the plan views (never string literals in handlers)."""

# ``/nexo client …`` (aliases in bot.handlers.clients).
COMMAND = "client"

# The add/edit form. private_metadata: {"client_id", "version", "channel"} (client_id None: a new client).
PLAN_MODAL = "plan_modal"

# Input blocks of the form (each holds one element whose action_id is the block id plus
# bot.blockkit.ELEMENT).
NAME = "plan_name"
REFERENCE = "plan_reference"
BACKUPS = "plan_backups"
LEAD = "plan_lead"
CMS = "plan_cms"
CHANNEL = "plan_channel"
LANGUAGE = "plan_language"
TIMEZONE = "plan_timezone"
HOURS = "plan_hours"
HOLIDAYS = "plan_holidays"
CLOSED = "plan_closed"
WINDOW = "plan_window"
CRISIS_WINDOW = "plan_crisis_window"
REMIND = "plan_remind"
ESCALATE_BACKUPS = "plan_escalate_backups"
ESCALATE_LEAD = "plan_escalate_lead"
OVERDUE_REPEAT = "plan_overdue_repeat"
OVERDUE_LIMIT = "plan_overdue_limit"
CRISIS_REPEAT = "plan_crisis_repeat"
PREAPPROVED = "plan_preapproved"
MANUAL = "plan_manual"
CRISIS_PAGES = "plan_crisis_pages"
RULES = "plan_approval_rules"
