"""Block, action and callback ids of questions, reminders and reports (never string literals in handlers)."""

# Buttons on the question message, reminders and escalations.
ANSWER = "question_answer"  # value: question id
PROMISE = "tracking_promise"  # value: tracked request id
CANCEL_QUESTION = "question_cancel"  # on the asker's copy; value: question id
QUESTION_ACTIONS = "question_actions"
REMINDER_ACTIONS = "tracking_reminder_actions"
ASKER_ACTIONS = "question_asker_actions"

# The answer modal.
ANSWER_MODAL = "question_answer_modal"
ANSWER_TEXT = "question_answer_text"

# The promise modal: a date and a time in the client's time zone.
PROMISE_MODAL = "tracking_promise_modal"
PROMISE_DATE = "tracking_promise_date"
PROMISE_TIME = "tracking_promise_time"

# Outbox ref_keys (find a message again to update it).
QUESTION_REF = "question:{id}"
ASKER_COPY_REF = "question:{id}:asker"
