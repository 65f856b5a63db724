"""The review window and the review, as state machines."""
from shared.states import StateMachine

WINDOW = StateMachine("review window", {"open": {"closed"}}, end=("closed",))
REVIEW = StateMachine("review", {"hidden": {"published"}}, end=("published",))

WINDOW_STATES = WINDOW.states
REVIEW_STATES = REVIEW.states
