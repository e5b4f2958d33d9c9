"""Block, action and callback ids of the approval views (never string literals in handlers)."""

# Buttons on the approval card (value: "<draft_id>:<version>", untrusted).
APPROVE = "approval_approve"
REQUEST_CHANGES = "approval_request_changes"
REJECT = "approval_reject"
REASSIGN = "approval_reassign"
FULL_TEXT = "approval_full_text"
CARD_ACTIONS = "approval_card_actions"
# Button on the CM's "changes requested" notice.
REVISE = "draft_revise"
# Buttons on the author's copy of a draft (value: "<draft_id>:<version>", untrusted).
EDIT = "draft_edit"
WITHDRAW = "draft_withdraw"
RESCHEDULE = "draft_reschedule"
AUTHOR_ACTIONS = "draft_author_actions"
AUTHOR_COPY_REF = "draft:{id}:author"  # the outbox ref_key of the author's copy (found again to update it)

# The message shortcut in manifest.json: a message of the CM's with text and files becomes a draft.
SEND_FOR_APPROVAL = "send_for_approval"

# Modals
SHORTCUT_MODAL = "draft_shortcut_modal"  # private_metadata: {} (the client is picked in the form)
DRAFT_MODAL = "draft_modal"  # private_metadata: {"client_id"} (new) or {"draft_id", "version"} (revision)
COMMENT_MODAL = "approval_comment_modal"  # private_metadata: {"draft_id", "version", "decision"}
REASSIGN_MODAL = "approval_reassign_modal"  # private_metadata: {"draft_id", "version"}
FULL_TEXT_MODAL = "draft_full_text_modal"  # read-only (no submit button, so no listener)
RESCHEDULE_MODAL = "draft_reschedule_modal"  # private_metadata: {"draft_id", "version"}

# Input blocks (each holds one element whose action_id is the block id plus bot.blockkit.ELEMENT)
TEXT = "draft_text"  # long texts go on in draft_text_2, draft_text_3... (text_part)
NETWORKS = "draft_networks"
PUBLISH_DATE = "draft_publish_date"
PUBLISH_TIME = "draft_publish_time"
CATEGORY = "draft_category"
MEDIA = "draft_media"
NOTE = "draft_note"
CLIENT = "draft_client"  # the shortcut's form: which client
FILES = "draft_files"  # file_input: Slack files to attach
FILES_KEEP = "draft_files_keep"  # checkboxes: the files of the message (shortcut) or of the revised version
RESCHEDULE_DATE = "draft_reschedule_date"
RESCHEDULE_TIME = "draft_reschedule_time"
COMMENT = "approval_comment"
ASSIGNEE = "approval_assignee"


def text_part(index: int) -> str:
    """Block id of the ``index``-th (0-based) text input of a draft modal."""
    return TEXT if index == 0 else f"{TEXT}_{index + 1}"
