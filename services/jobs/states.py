"""The lives of a job and of a proposal, as tables of allowed moves."""
from shared.states import StateMachine

JOB = StateMachine("job", {
    "open": {"filled", "closed"},
}, end=("filled", "closed"))

PROPOSAL = StateMachine("proposal", {
    "submitted": {"offer_pending", "withdrawn", "declined"},
    # In-progress: the hiring saga owns the proposal until the contract settles.
    "offer_pending": {"hired", "submitted", "declined"},
}, end=("hired", "declined", "withdrawn"))

JOB_STATUSES = JOB.states
PROPOSAL_STATUSES = PROPOSAL.states
# The database keeps these rules too: one live proposal per freelancer and job, and at most
# one proposal of a job on its way to (or at) being hired.
LIVE = ("submitted", "offer_pending", "hired")
HIRING = ("offer_pending", "hired")
