"""What must hold once the load has settled, whatever went wrong on the way, and the report that says so."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from marketplace.registry import NAMES as SERVICES
from tests.faults.bus import BusObserver
from tests.faults.stories import Driver, Story
from tests.faults.suite import Suite

# Each request and each answer of a milestone's money happens once: one event id per step.
ONCE_PER_MILESTONE = {
    "pay": ("contracts.milestone.funding_requested", "payments.escrow.funded", "contracts.milestone.approved",
            "payments.escrow.released"),
    "decline": ("contracts.milestone.funding_requested", "payments.escrow.funded",
                "contracts.milestone.refund_requested", "payments.escrow.refunded"),
    "poor": ("contracts.milestone.funding_requested", "payments.escrow.funding_failed"),
}
NEVER_PER_MILESTONE = {
    "pay": ("payments.escrow.refunded", "payments.escrow.funding_failed"),
    "decline": ("payments.escrow.released", "payments.escrow.funding_failed"),
    "poor": ("payments.escrow.funded", "payments.escrow.released", "payments.escrow.refunded"),
}


@dataclass
class Report:
    scenario: str
    faults: list[str] = field(default_factory=list)
    started: int = 0
    completed: int = 0
    compensated: int = 0
    stuck: int = 0
    duplicates_suppressed: int = 0
    duplicates_delivered: int = 0
    dead_lettered: int = 0
    dead_letters_left: int = 0
    slowest_saga_seconds: float = 0.0
    events_seen: int = 0
    problems: list[str] = field(default_factory=list)
    stuck_stories: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"== fault scenario: {self.scenario}",
                 f"faults injected:        {'; '.join(self.faults) or 'none'}",
                 f"sagas started:          {self.started}",
                 f"  completed:            {self.completed}",
                 f"  compensated:          {self.compensated}",
                 f"  stuck:                {self.stuck}",
                 f"duplicates suppressed:  {self.duplicates_suppressed} (inbox, counted by the workers)",
                 f"copies put on the bus:  {self.duplicates_delivered}",
                 f"dead-lettered:          {self.dead_lettered} (left in dead letters at the end: {self.dead_letters_left})",
                 f"events on the bus:      {self.events_seen}",
                 f"slowest saga:           {self.slowest_saga_seconds:.1f}s",
                 f"problems:               {len(self.problems)}"]
        lines += [f"  - {problem}" for problem in self.problems]
        lines += [f"  stuck: {detail}" for detail in self.stuck_stories]
        return "\n".join(lines)

    def publish(self, directory: Path) -> None:
        text = self.text()
        print("\n" + text)
        (directory / f"report-{self.scenario}.txt").write_text(text + "\n")
        (directory / f"report-{self.scenario}.json").write_text(json.dumps(self.__dict__, indent=2) + "\n")


def judge(scenario: str, suite: Suite, driver: Driver, bus: BusObserver, stories: list[Story], *,
          faults: list[str], tmp_path: Path, dead_letters_expected: int = 0) -> Report:
    """Settle, check every guarantee, write the report; the caller asserts `report.problems` is empty."""
    report = Report(scenario, faults=faults, started=len(stories))
    report.completed = sum(story.outcome == "completed" for story in stories)
    report.compensated = sum(story.outcome == "compensated" for story in stories)
    report.stuck = sum(story.outcome not in ("completed", "compensated") for story in stories)
    report.stuck_stories = [f"#{s.number} {s.kind} {s.outcome} after {s.steps}: {s.error}" for s in stories
                            if s.outcome not in ("completed", "compensated")]
    report.slowest_saga_seconds = max((story.seconds or 0 for story in stories), default=0)
    for story in stories:
        if story.outcome in ("completed", "compensated") and story.outcome != story.terminal:
            report.problems.append(f"story {story.number} ({story.kind}) ended {story.outcome}")
    _check_participants(driver, stories, report)
    _check_balances(driver, stories, report)
    _check_ledger(driver, report)
    suite.wait_published(bus)
    _check_events(bus, stories, report)
    return close(report, suite, bus, tmp_path, dead_letters_expected=dead_letters_expected)


def close(report: Report, suite: Suite, bus: BusObserver, tmp_path: Path, *, dead_letters_expected: int = 0) -> Report:
    """Every verdict's last checks, after its stories' own: what the workers counted, the dead letters
    left, every process still alive; then the report is written."""
    suite.scrape_workers()
    report.duplicates_suppressed = suite.counted("events_consumed_total:duplicate")
    report.dead_lettered = suite.counted("events_dead_lettered_total")
    report.duplicates_delivered = bus.duplicated
    report.events_seen = len(bus.events)
    left = {service: suite.dead_letters(service).list() for service in SERVICES}
    report.dead_letters_left = sum(len(letters) for letters in left.values())
    if report.dead_letters_left != dead_letters_expected:
        report.problems.append("dead letters left: " + "; ".join(
            f"{service}: {letter.type} {letter.error[:200]}" for service, letters in left.items() for letter in letters))
    try:
        suite.check_alive()
    except AssertionError as error:
        report.problems.append(str(error)[:2000])
    report.publish(tmp_path)
    return report


def _check_balances(driver: Driver, stories: list[Story], report: Report) -> None:
    for story in stories:
        if story.client is None:
            continue
        expected = story.expected_balances()
        for side, party in (("client", story.client), ("freelancer", story.freelancer)):
            found = driver.balance(party)
            got = {key: found[key] for key in expected[side]}
            if got != expected[side]:
                report.problems.append(f"story {story.number} ({story.kind}) {side} balance {got} != model {expected[side]}")
        if story.kind == "pay" and story.payout_id:
            payout = driver.http("GET", f"/payments/payouts/{story.payout_id}", story.freelancer.token)
            if payout["amount"] != story.paid_out or payout["status"] != "paid":
                report.problems.append(f"story {story.number} payout {payout} != model {story.paid_out} paid")


# What jobs must show for each ending: the proposal and its job, once jobs has heard the contract's news.
JOBS_END = {"pay": ("hired", "filled"), "decline": ("declined", "open"), "poor": ("submitted", "open")}


def _check_participants(driver: Driver, stories: list[Story], report: Report) -> None:
    """jobs settled each proposal and job; reviews opened a window for each completed contract, and only those."""
    for story in stories:
        if story.outcome not in ("completed", "compensated"):
            continue
        want = JOBS_END[story.kind]
        got = _eventually(lambda story=story: _job_state(driver, story), want)
        if got != want:
            report.problems.append(f"story {story.number} ({story.kind}): jobs shows proposal/job {got}, not {want}")
        review = {"contract_id": story.contract_id, "rating": 5, "comment": "Survived the faults."}
        expect = 201 if story.kind == "pay" else 409
        status = _eventually(lambda story=story, review=review: _review(driver, story, review), expect)
        if status != expect:
            report.problems.append(f"story {story.number} ({story.kind}): a client's review answered {status}, "
                                   f"not {expect}")


def _job_state(driver: Driver, story: Story) -> tuple[str, str]:
    proposal = driver.http("GET", f"/jobs/{story.job_id}/proposals/{story.proposal_id}", story.client.token)
    return proposal["status"], driver.http("GET", f"/jobs/{story.job_id}")["status"]


def _review(driver: Driver, story: Story, review: dict) -> int:
    return requests.post(f"{driver.suite.url('reviews')}/reviews", json=review, timeout=15,
                         headers={"Authorization": f"Bearer {story.client.token}"}).status_code


def _eventually(probe, want, timeout: float = 30):
    """The participants hear the news a moment after the owner; what they show once it has settled."""
    deadline, got = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        got = probe()
        if got == want:
            return got
        time.sleep(0.3)
    return got


def _check_ledger(driver: Driver, report: Report) -> None:
    check = driver.http("GET", "/payments/ledger/check", driver.admin())
    if not check["balanced"] or check["negative_accounts"] or check["total"] != 0:
        report.problems.append(f"ledger check: {check}")


def _check_events(bus: BusObserver, stories: list[Story], report: Report) -> None:
    bus.check()
    for story in stories:
        if story.milestone_id is None or story.outcome not in ("completed", "compensated"):
            continue
        for type_ in ONCE_PER_MILESTONE[story.kind]:
            seen = bus.count(type_, milestone_id=story.milestone_id)
            if seen != 1:
                report.problems.append(f"story {story.number}: {seen} distinct {type_} events (one expected)")
        for type_ in NEVER_PER_MILESTONE[story.kind]:
            if bus.count(type_, milestone_id=story.milestone_id):
                report.problems.append(f"story {story.number}: a {type_} event, which its story must never see")
        if story.payout_id:
            for type_ in ("payments.payout.requested", "payments.payout.paid"):
                seen = bus.count(type_, payout_id=story.payout_id)
                if seen != 1:
                    report.problems.append(f"story {story.number}: {seen} distinct {type_} events (one expected)")
