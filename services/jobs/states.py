"""The lives of a job and of a proposal, as tables of allowed moves."""
from shared.states import StateMachine

JOB = StateMachine("job", {
    "open": {"filled", "closed"},
    "filled": set(),
    "closed": set(),
})

PROPOSAL = StateMachine("proposal", {
    "submitted": {"offer_pending", "withdrawn", "declined"},
    # In-progress: the hiring saga owns the proposal until the contract settles.
    "offer_pending": {"hired", "submitted", "declined"},
    "hired": set(),
    "declined": set(),
    "withdrawn": set(),
})

JOB_STATUSES = tuple(JOB.transitions)
PROPOSAL_STATUSES = tuple(PROPOSAL.transitions)
LIVE = ("submitted", "offer_pending", "hired")
