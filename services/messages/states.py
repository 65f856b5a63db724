"""The room and the webhook delivery, as state machines."""
from shared.states import StateMachine

ROOM = StateMachine("The room", {
    "awaiting_client": {"open", "read_only"},  # open: the client's first message, or a hire
    "open": {"read_only"},  # read_only: a party is suspended
    # The one way out: both parties in good standing again (a reinstatement) gives back what it was.
    "read_only": {"awaiting_client", "open"},
}, end=("read_only",))

DELIVERY = StateMachine("The delivery", {
    "pending": {"succeeded", "failed"},
}, end=("succeeded", "failed"))

ROOM_STATES = ROOM.states
DELIVERY_STATES = DELIVERY.states
