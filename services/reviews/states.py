"""The review window and the review, as state machines."""
from shared.states import StateMachine

WINDOW = StateMachine("review window", {"open": {"closed"}})
REVIEW = StateMachine("review", {"hidden": {"published"}})
