"""The life of an account, as a table of allowed moves."""
from shared.states import StateMachine

USER = StateMachine("The user", {
    "active": {"suspended"},
    # An admin may reinstate a suspended account; a suspension may be where its life ends.
    "suspended": {"active"},
}, end=("suspended",))

USER_STATES = USER.states
