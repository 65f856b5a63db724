"""What the HTTP benchmark runs against: accounts made through the API, then many jobs put straight into the
jobs database, since the API would take minutes for 100,000.

The rows are the ones the API would write: `search_vector` is a column PostgreSQL generates from the title and
the description on any insert, so `GET /jobs?q=` finds seeded jobs exactly as it finds API-posted ones (checked
below against a job posted through the API). The text comes from a small vocabulary; SEARCH_WORD is in one job
of MATCH_EVERY and nowhere else, a realistic slice for a search to return.
"""
from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
import sqlalchemy as sa

PASSWORD = "bench-password-1234"
SEARCH_WORD = "kubernetes"
MATCH_EVERY = 100
SKILLS = ["Python", "Django", "Flask", "React", "TypeScript", "iOS", "Swift", "Android", "Kotlin", "Flutter",
          "PostgreSQL", "AWS", "Docker", "Shopify", "WordPress", "PHP", "Go", "Figma", "SEO", "Copywriting"]
VERBS = ["Build", "Redesign", "Fix", "Migrate", "Speed up", "Test", "Document", "Maintain"]
THINGS = ["a Django REST API", "our React dashboard", "an iOS shopping app", "a Shopify store", "the billing system",
          "a data pipeline in Python", "a WordPress site", "an Android game", "a PostgreSQL schema",
          "a landing page", "a Flutter app", "a CRM integration"]
SENTENCES = ["We are a small team looking for an experienced freelancer.", "The work can start as soon as possible.",
             "Please share examples of similar projects you have delivered.",
             "Clean, tested code matters more to us than speed.", "We expect a short call each week to review progress.",
             "The codebase is about three years old and reasonably documented.",
             "You will work with our designer and one backend developer.", "Good written English is required.",
             "The budget is negotiable for the right person.", "The first milestone is a working prototype.",
             "Documentation should be part of the delivery.", "We may extend the contract if it goes well.",
             "Access to a staging environment will be provided.", "Most of our users are on mobile.",
             "Deadlines are firm because of a product launch.", "Tell us how you would approach the problem."]
MATCH_SENTENCE = "Everything runs on Kubernetes."
INSERT_JOBS = sa.text("""
WITH words AS (
    SELECT CAST(:titles AS text[]) AS titles, CAST(:paragraphs AS text[]) AS paragraphs,
           CAST(:skills AS text[]) AS skills
), new AS MATERIALIZED (
    SELECT i, gen_random_uuid()::text AS id FROM generate_series(1, :count) AS i
), jobs_in AS (
    INSERT INTO jobs (id, client_id, title, description, budget_type, budget_amount, hourly_rate_max, status,
                      proposals_count, created_at, updated_at)
    SELECT id, :client_id, titles[1 + i % cardinality(titles)],
           paragraphs[1 + i * 7 % cardinality(paragraphs)]
               || CASE WHEN i % :every = 0 THEN ' ' || :match_sentence ELSE '' END,
           CASE WHEN i % 4 = 0 THEN 'hourly' ELSE 'fixed' END,
           CASE WHEN i % 4 = 0 THEN NULL ELSE 50000 + i % 50 * 10000 END,
           CASE WHEN i % 4 = 0 THEN 3000 + i % 20 * 500 END,
           'open', 0, now() - i * interval '1 minute', now() - i * interval '1 minute'
    FROM new, words
)
INSERT INTO job_skills (job_id, skill_key, skill, position)
SELECT new.id, lower(skill.name), skill.name, skill.position
FROM new, words, LATERAL (SELECT skills[1 + (new.i + k * 7) % cardinality(skills)] AS name, k AS position
                          FROM generate_series(0, 2) AS k) AS skill
""")


@dataclass(frozen=True)
class Seeded:
    job_ids: list[str]   # the seeded jobs, all open, newest first
    hourly: frozenset[str]  # those of them that are hourly (a proposal names a rate there, not an amount)
    logins: list[dict]   # {"email", "password"} of every freelancer
    tokens: list[str]    # access tokens of the first freelancers
    word: str
    matches: int         # jobs SEARCH_WORD finds
    jobs_seconds: float  # the insert and VACUUM ANALYZE alone


def seed(users_url: str, jobs_url: str, jobs_database_url: str, *, jobs: int, freelancers: int,
         tokens: int) -> Seeded:
    """A client with `jobs` open jobs, `freelancers` freelancers, access tokens for the first `tokens` of them."""
    with ThreadPoolExecutor(4) as pool:
        client = register(users_url, "client", 0)
        logins = list(pool.map(lambda i: register(users_url, "freelancer", i), range(freelancers)))
        freelancer_tokens = list(pool.map(lambda login: token(users_url, login), logins[:tokens]))
    client_token = token(users_url, client)
    reference = post(f"{jobs_url}/jobs", client_token, {
        "title": "Migrate our platform", "description": f"A reference job, posted through the API. {MATCH_SENTENCE}",
        "skills": ["Docker", "AWS"], "budget_type": "fixed", "budget_amount": 250000})
    began = time.monotonic()
    job_ids, hourly, matches = _insert_jobs(jobs_database_url, reference["client_id"], jobs, reference["id"])
    jobs_seconds = time.monotonic() - began
    _check(jobs_url, reference, job_ids[0], matches)
    return Seeded(job_ids, hourly, [{"email": login["email"], "password": PASSWORD} for login in logins],
                  freelancer_tokens, SEARCH_WORD, matches, round(jobs_seconds, 1))


def register(users_url: str, role: str, number: int) -> dict:
    """A user made through the API: its `id`, `email` and `password`."""
    email = f"bench-{role}-{number}@example.com"
    user = post(f"{users_url}/users", None, {"email": email, "password": PASSWORD, "name": f"Bench {role} {number}",
                                             "roles": [role], "country": "FR"})
    return {"id": user["id"], "email": email, "password": PASSWORD}


def token(users_url: str, login: dict) -> str:
    return post(f"{users_url}/auth/token", None, {"email": login["email"], "password": login["password"]})["access_token"]


def post(url: str, token: str | None, body: dict, key: str | None = None) -> dict:
    """POST as `token` (with an Idempotency-Key when given); anything but success stops the bench."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if key:
        headers["Idempotency-Key"] = key
    response = requests.post(url, json=body, headers=headers, timeout=30)
    if not response.ok:
        raise RuntimeError(f"POST {url}: {response.status_code} {response.text[:500]}")
    return response.json()


def _vocabulary() -> dict:
    chance = random.Random(7)
    titles = [f"{verb} {thing}" for verb in VERBS for thing in THINGS]
    paragraphs = [" ".join(chance.sample(SENTENCES, 5)) for _ in range(61)]
    return {"titles": titles, "paragraphs": paragraphs, "skills": SKILLS}


def _insert_jobs(database_url: str, client_id: str, count: int,
                 reference_id: str) -> tuple[list[str], frozenset[str], int]:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(INSERT_JOBS, {**_vocabulary(), "count": count, "client_id": client_id,
                                             "every": MATCH_EVERY, "match_sentence": MATCH_SENTENCE})
        # VACUUM as well as ANALYZE: it empties the GIN index's pending list, which every search would otherwise
        # scan, and sets the visibility map, as autovacuum would have done long before a real table got this big.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE jobs, job_skills"))
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, budget_type FROM jobs WHERE id <> :reference "
                                              "ORDER BY created_at DESC"), {"reference": reference_id}).all()
            matches = connection.scalar(sa.text("SELECT count(*) FROM jobs WHERE search_vector @@ "
                                                "plainto_tsquery('simple', :word)"), {"word": SEARCH_WORD})
    finally:
        engine.dispose()
    return [id_ for id_, _ in rows], frozenset(id_ for id_, budget in rows if budget == "hourly"), matches


def _check(jobs_url: str, reference: dict, seeded_id: str, matches: int) -> None:
    """Seeded jobs read and search like the job posted through the API."""
    seeded = requests.get(f"{jobs_url}/jobs/{seeded_id}", timeout=30).json()
    if set(seeded) != set(reference) or len(seeded["skills"]) != 3:
        raise RuntimeError(f"a seeded job does not read like an API-posted one: {seeded} vs {reference}")
    page = requests.get(f"{jobs_url}/jobs", params={"q": SEARCH_WORD, "limit": 100}, timeout=30).json()
    items = page["items"]
    hits = [item for item in items if SEARCH_WORD in f"{item['title']} {item['description']}".lower()]
    first_page = min(100, matches)
    if (not items or items[0]["id"] != reference["id"] or len(items) != first_page or len(hits) != first_page
            or (page["next_cursor"] is None) != (matches <= 100)):
        raise RuntimeError(f"GET /jobs?q={SEARCH_WORD} does not find the seeded jobs: {len(items)} items of "
                           f"{matches} matches")
