"""Block, action and callback ids of crisis messages and views (never string literals in handlers)."""

# The message shortcut in manifest.json.
FLAG_SHORTCUT = "flag_reputation_issue"

DECLARE_MODAL = "crisis_declare_modal"
CLIENT = "crisis_client"
SEVERITY = "crisis_severity"
DESCRIPTION = "crisis_description"
# Each input block holds one element whose action_id is the block id plus bot.blockkit.ELEMENT.

# Buttons on pages and on the crisis message (value: crisis id).
ACKNOWLEDGE = "crisis_acknowledge"
RESOLVE = "crisis_resolve"
# Checklist (value: step id).
STEP_DONE = "crisis_step_done"
# Detection suggestion (value: crisis id).
DECLARE_SUGGESTED = "crisis_declare_suggested"
DISMISS_SUGGESTED = "crisis_dismiss_suggested"
# After resolve (value: crisis id).
RELEASE_HELD = "crisis_release_held"
KEEP_HELD = "crisis_keep_held"

PAGE_ACTIONS = "crisis_page_actions"
HOLD_ACTIONS = "crisis_hold_actions"
SUGGEST_ACTIONS = "crisis_suggest_actions"
STEP_BLOCK = "crisis_step_"  # + step id
