"""The life of an account, as a table of allowed moves."""
from shared.states import StateMachine

USER = StateMachine("The user", {
    "active": {"suspended"},
}, end=("suspended",))

USER_STATES = USER.states
