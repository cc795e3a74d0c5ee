"""The benchmark world, planned row by row: pure, seeded, no I/O.

Rows are tuples in the column order of the ``*_COLUMNS`` constants, with ids assigned here (the
generator always starts from an empty database), so the store can bulk-insert them without
RETURNING. Call the methods in the order ``crm`` needs the rows: organizations, users, employers,
assignments, history batches, open work. Everything depends only on the seed, the scale, the
regions handed in and ``today``.
"""

from __future__ import annotations

import datetime as dt
import random
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from crm.demo import UniqueKeys, employer_rows
from crm.demo_data import COUNTY_GEO, FIRST_NAMES, SURNAMES
from crm.directory.models import OrganizationKind
from crm.touches.routing import Outcome, Purpose

Row = tuple[Any, ...]

ORGANIZATION_COLUMNS = ("id", "name", "kind", "website", "created_at", "updated_at")
ORGANIZATION_REGION_COLUMNS = ("organization_id", "region_id")
USER_COLUMNS = ("id", "email", "name", "organization_id", "password_hash", "is_active", "away", "title", "phone",
                "created_at", "updated_at")
GRANT_COLUMNS = ("id", "user_id", "role", "region_id", "created_at", "updated_at")
EMPLOYER_COLUMNS = ("id", "legal_name", "dba", "name_key", "website", "domain", "fein", "phone", "naics_code",
                    "sector_code", "size_band", "address_line", "city", "zip", "county_id", "region_id", "status",
                    "merged_into_id", "do_not_contact", "preferred_channel", "notes", "created_at", "updated_at")
ASSIGNMENT_COLUMNS = ("id", "employer_id", "region_id", "spoc_id", "backup_spoc_id", "started_at", "ended_at",
                      "reason", "assigned_by_id", "created_at", "updated_at")
TOUCH_COLUMNS = ("id", "employer_id", "region_id", "spoc_id", "status", "source", "channel", "window_start",
                 "window_end", "planned_on", "scheduled_at", "completed_at", "cancelled_at", "cancel_reason", "notes",
                 "override_reason", "created_by_id", "created_at", "updated_at")
REQUEST_COLUMNS = ("id", "requester_id", "requester_org_id", "employer_id", "region_id", "purpose", "summary",
                   "priority", "window_start", "window_end", "status", "touch_id", "release_on", "outcome",
                   "outcome_note", "decline_reason", "closed_at", "employer_query", "candidate_ids", "created_at",
                   "updated_at")

EMAIL_DOMAIN = "bench.onedoor.org"
ADMIN_EMAIL = f"admin@{EMAIL_DOMAIN}"

# California scale at 1.0 (issue 3, Benchmarks).
EMPLOYERS = 250_000
TOUCHES = 2_000_000
OPEN_REQUESTS = 20_000
ORGANIZATIONS = 400

ASSIGNED_SHARE = 0.70
DO_NOT_CONTACT_SHARE = 0.01
PARTNERS_PER_ORG = 2
EMPLOYERS_PER_SPOC = 2_000  # assigned employers one business-services rep carries
HISTORY_DAYS = 3 * 365
HISTORY_END_DAYS = 30  # history stops a month ago, so open touches respect the gap too
# 15 days apart keeps every employer within the default budget (2 per rolling 30 days, 7-day gap).
HISTORY_GAP_DAYS = 15
MAX_HISTORY_PER_EMPLOYER = 60
NO_HISTORY_SHARE = 0.20
HISTORY_REQUEST_SHARE = 0.35  # routed history touches that carried partner requests
HELD_SHARE = 0.10  # of the open requests

_KINDS = tuple(OrganizationKind)
_PURPOSES = tuple(p.value for p in Purpose)
_OUTCOMES = tuple(o.value for o in Outcome)
_CHANNELS = ("visit", "call", "email", "meeting", "event")
_CHANNEL_CUM = (30, 65, 85, 97, 100)
_SUMMARIES = {
    "hiring": "Recruiting for entry-level openings", "work_based_learning": "Internship placements this term",
    "apprenticeship": "Registered apprenticeship interest", "training_upskilling": "Incumbent-worker training",
    "curriculum_review": "Program curriculum review", "advisory_recruitment": "Seat on the advisory council",
    "sector_partnership": "Invite to the sector partnership", "reentry_fair_chance": "Fair-chance hiring",
    "layoff_aversion": "Layoff aversion services", "event": "Job fair booth",
    "labor_market_info": "Skills and wages survey", "other": "Introduce our services",
}


@dataclass(frozen=True, slots=True)
class RegionRef:
    id: int
    code: str
    name: str
    counties: tuple[tuple[int, str], ...]

    @property
    def weight(self) -> float:
        """The region's share of California's establishments, by population."""
        return float(sum(COUNTY_GEO[name].population_k if name in COUNTY_GEO else 1 for _, name in self.counties))


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder), summing exactly."""
    wsum = sum(weights)
    raw = [total * w / wsum for w in weights]
    out = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))[: total - sum(out)]:
        out[i] += 1
    return out


@dataclass(frozen=True, slots=True)
class Scale:
    employers: int
    touches: int
    open_requests: int
    organizations: int

    @classmethod
    def of(cls, factor: float, regions: int) -> Scale:
        # Every region keeps at least two organizations, so every region has partners.
        return cls(max(regions * 10, round(EMPLOYERS * factor)), round(TOUCHES * factor),
                   round(OPEN_REQUESTS * factor), max(regions * 2, round(ORGANIZATIONS * factor)))


class World:
    def __init__(self, regions: Sequence[RegionRef], scale: Scale, *, seed: int, today: dt.date,
                 password_hash: str) -> None:
        self.regions = list(regions)
        self.scale = scale
        self.seed = seed
        self.today = today
        self.now = dt.datetime(today.year, today.month, today.day, 12, 0, tzinfo=dt.UTC)
        self.password_hash = password_hash
        self.counts: Counter[str] = Counter()
        weights = [r.weight for r in self.regions]
        self.employers_per_region = allocate(scale.employers, weights)
        n = len(self.regions)
        self.orgs_per_region = allocate(scale.organizations, [0.5 / n + 0.5 * w / sum(weights) for w in weights])
        # Filled as rows are planned; later stages read them.
        self.partners: dict[int, list[tuple[int, int]]] = {}  # region id -> [(org id, partner user id)]
        self.spocs: dict[int, list[int]] = {}
        self.leads: dict[int, int] = {}
        self.employer_region = array("q")  # index = employer id - 1
        self.employer_spoc = array("q")  # 0 = no active assignment
        self.do_not_contact = bytearray()
        self._touch_id = 0
        self._request_id = 0

    def _rng(self, stage: str) -> random.Random:
        return random.Random(f"{self.seed}/{stage}")

    # ---------------------------------------------------------------- directory and people

    def organizations(self) -> tuple[list[Row], list[Row]]:
        """Organizations of every kind in every region, and the regions each serves."""
        orgs: list[Row] = []
        links: list[Row] = []
        created = self.now - dt.timedelta(days=1200)
        for region, count in zip(self.regions, self.orgs_per_region, strict=True):
            for i in range(count):
                kind = _KINDS[i % len(_KINDS)]
                org_id = len(orgs) + 1
                label = kind.value.replace("_", " ").title()
                orgs.append((org_id, f"{region.name} {label} {i // len(_KINDS) + 1}", kind.value,
                             f"https://org{org_id}.example.org", created, created))
                # State agencies serve the whole state; everyone else their own region.
                served = self.regions if kind is OrganizationKind.state_agency else [region]
                links += [(org_id, r.id) for r in served]
        self.counts["organizations"] = len(orgs)
        self._orgs = orgs
        self._links = links
        return orgs, links

    def users(self) -> tuple[list[Row], list[Row]]:
        """An admin; a lead and SPOCs per region (by assigned employers); partners per organization."""
        rng = self._rng("users")
        users: list[Row] = []
        grants: list[Row] = []
        created = self.now - dt.timedelta(days=1200)

        def add(email: str, org_id: int | None, title: str, role: str, region_id: int | None) -> int:
            uid = len(users) + 1
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
            users.append((uid, email, name, org_id, self.password_hash, True, False, title, None, created, created))
            grants.append((len(grants) + 1, uid, role, region_id, created, created))
            return uid

        add(ADMIN_EMAIL, None, "System Administrator", "admin", None)
        board_of = {}
        for org_id, _name, kind, *_ in self._orgs:
            if kind == OrganizationKind.workforce_board.value:
                board_of.setdefault(next(r for o, r in self._links if o == org_id), org_id)
        for region, n_emp in zip(self.regions, self.employers_per_region, strict=True):
            code = region.code.lower()
            board = board_of.get(region.id)
            self.leads[region.id] = add(f"lead-{code}@{EMAIL_DOMAIN}", board, "Regional Coordinator", "lead",
                                        region.id)
            n_spocs = max(1, round(n_emp * ASSIGNED_SHARE / EMPLOYERS_PER_SPOC))
            self.spocs[region.id] = [
                add(f"spoc-{code}-{k}@{EMAIL_DOMAIN}", board, "Business Services Representative", "spoc", region.id)
                for k in range(1, n_spocs + 1)]
        for org_id, *_ in self._orgs:
            for k in range(1, PARTNERS_PER_ORG + 1):
                uid = add(f"partner-{org_id}-{k}@{EMAIL_DOMAIN}", org_id, "Program Manager", "partner", None)
                for o, r in self._links:
                    if o == org_id:
                        self.partners.setdefault(r, []).append((org_id, uid))
        self.counts["users"] = len(users)
        return users, grants

    # ---------------------------------------------------------------- employers

    def employers(self) -> Iterator[Row]:
        """Employers of every region through ``crm.demo.employer_rows`` with one shared UniqueKeys."""
        unique = UniqueKeys()
        created = self.now - dt.timedelta(days=HISTORY_DAYS + 5)
        rng_dnc = self._rng("dnc")
        emp_id = 0
        for region, n in zip(self.regions, self.employers_per_region, strict=True):
            rng = self._rng(f"employers/{region.code}")
            for row in employer_rows(rng, region.code, list(region.counties), n, region_id=region.id, unique=unique):
                emp_id += 1
                dnc = rng_dnc.random() < DO_NOT_CONTACT_SHARE
                row["do_not_contact"] = dnc
                self.employer_region.append(region.id)
                self.do_not_contact.append(dnc)
                yield (emp_id, *(row[c] for c in EMPLOYER_COLUMNS[1:-2]), created, created)
        self.employer_spoc = array("q", bytes(8 * emp_id))
        self.counts["employers"] = emp_id

    def assignments(self) -> Iterator[Row]:
        """Active SPOC assignments for ~70% of employers (some with a backup SPOC)."""
        rng = self._rng("assignments")
        aid = 0
        for index, region_id in enumerate(self.employer_region):
            if rng.random() >= ASSIGNED_SHARE:
                continue
            spocs = self.spocs[region_id]
            spoc = spocs[int(rng.random() * len(spocs))]
            backup = None
            if len(spocs) > 1 and rng.random() < 0.5:
                backup = spocs[(spocs.index(spoc) + 1) % len(spocs)]
            started = self.now - dt.timedelta(days=int(rng.random() * HISTORY_DAYS), hours=3)
            aid += 1
            self.employer_spoc[index] = spoc
            yield (aid, index + 1, region_id, spoc, backup, started, None, "benchmark data set",
                   self.leads[region_id], started, started)
        self.counts["spoc_assignments"] = aid

    # ---------------------------------------------------------------- touches and requests

    def _history_counts(self) -> list[int]:
        """Touches per employer: skewed (many have few, some many), summing to the target exactly."""
        rng = self._rng("history/counts")
        n = len(self.employer_region)
        ks = [0 if rng.random() < NO_HISTORY_SHARE else min(MAX_HISTORY_PER_EMPLOYER, 1 + int(rng.expovariate(1 / 9)))
              for _ in range(n)]
        diff = self.scale.touches - sum(ks)
        cap = min(MAX_HISTORY_PER_EMPLOYER, (HISTORY_DAYS - HISTORY_END_DAYS) // HISTORY_GAP_DAYS)
        if diff > n * cap - sum(ks):
            raise ValueError("too many touches for this many employers under the pacing budget")
        while diff:
            i = int(rng.random() * n)
            if diff > 0 and ks[i] < cap:
                ks[i] += 1
                diff -= 1
            elif diff < 0 and ks[i] > 0:
                ks[i] -= 1
                diff += 1
        return ks

    def history(self, batch_employers: int = 5_000) -> Iterator[tuple[list[Row], list[Row]]]:
        """Completed touches over the last three years, ``HISTORY_GAP_DAYS`` apart per employer, with
        the partner requests some of them carried; yielded in batches of (touches, requests)."""
        rng = self._rng("history")
        rand = rng.random
        ks = self._history_counts()
        start = self.today - dt.timedelta(days=HISTORY_DAYS)
        span = HISTORY_DAYS - HISTORY_END_DAYS
        days = [start + dt.timedelta(days=i) for i in range(span + 1)]
        noon = [dt.datetime(d.year, d.month, d.day, 16, tzinfo=dt.UTC) for d in days]
        touches: list[Row] = []
        requests: list[Row] = []
        for index, k in enumerate(ks):
            if k:
                employer_id = index + 1
                region_id = self.employer_region[index]
                spocs = self.spocs[region_id]
                spoc = self.employer_spoc[index] or spocs[int(rand() * len(spocs))]
                slack = span - HISTORY_GAP_DAYS * (k - 1)
                offsets = sorted(int(rand() * (slack + 1)) for _ in range(k))
                for i, off in enumerate(offsets):
                    d = off + HISTORY_GAP_DAYS * i
                    lead = int(rand() * 21)
                    ws = max(0, d - lead)
                    sched = noon[d] + dt.timedelta(minutes=int(rand() * 540))
                    r = rand()
                    source = "routed" if r < 0.75 else "logged" if r < 0.95 else "meeting"
                    c = rand() * 100
                    channel = next(ch for ch, cum in zip(_CHANNELS, _CHANNEL_CUM, strict=True) if c < cum)
                    self._touch_id += 1
                    done = sched + dt.timedelta(hours=1)
                    touches.append((self._touch_id, employer_id, region_id, spoc, "completed", source, channel,
                                    days[ws], days[ws] + dt.timedelta(days=30), days[d], sched, done, None, None,
                                    None, None, spoc, noon[ws], done))
                    if source == "routed" and rand() < HISTORY_REQUEST_SHARE:
                        n_req = 1 if rand() < 0.7 else 2
                        self._history_requests(rng, requests, region_id, employer_id, n_req, days[ws], noon[ws], done)
            if (index + 1) % batch_employers == 0 or index + 1 == len(ks):
                self.counts["touches (history)"] += len(touches)
                self.counts["touch requests (history)"] += len(requests)
                yield touches, requests
                touches, requests = [], []

    def _history_requests(self, rng: random.Random, out: list[Row], region_id: int, employer_id: int, n: int,
                          window_start: dt.date, created: dt.datetime, closed: dt.datetime) -> None:
        partners = self.partners.get(region_id, [])
        for org_id, user_id in rng.sample(partners, min(n, len(partners))):
            purpose = _PURPOSES[int(rng.random() * len(_PURPOSES))]
            self._request_id += 1
            out.append((self._request_id, user_id, org_id, employer_id, region_id, purpose, _SUMMARIES[purpose],
                        "normal", window_start, window_start + dt.timedelta(days=30), "completed", self._touch_id,
                        None, _OUTCOMES[int(rng.random() * len(_OUTCOMES))], None, None, closed, None, None,
                        created, closed))

    def open_work(self) -> tuple[list[Row], list[Row]]:
        """Open touches (queued/scheduled, some overdue, some in the unassigned queue) carrying the open
        requests, plus held requests; at most one open request per (organization, employer, purpose)."""
        rng = self._rng("open")
        rand = rng.random
        target = self.scale.open_requests
        held = round(target * HELD_SHARE)
        on_touches = target - held
        candidates = [i for i in range(len(self.employer_region)) if not self.do_not_contact[i]]
        rng.shuffle(candidates)
        touches: list[Row] = []
        requests: list[Row] = []
        open_keys: dict[int, set[tuple[int, str]]] = {}
        opened: list[tuple[int, dt.date]] = []  # (employer index, planned_on)

        def request(index: int, status: str, touch_id: int | None, ws: dt.date, release: dt.date | None) -> bool:
            region_id = self.employer_region[index]
            partners = self.partners.get(region_id, [])
            keys = open_keys.setdefault(index, set())
            for _ in range(8):
                org_id, user_id = partners[int(rand() * len(partners))]
                purpose = _PURPOSES[int(rand() * len(_PURPOSES))]
                if (org_id, purpose) not in keys:
                    break
            else:
                return False
            keys.add((org_id, purpose))
            created = self.now - dt.timedelta(days=1 + int(rand() * 20), minutes=int(rand() * 600))
            self._request_id += 1
            requests.append((self._request_id, user_id, org_id, index + 1, region_id, purpose, _SUMMARIES[purpose],
                             "time_sensitive" if rand() < 0.1 else "normal", ws, ws + dt.timedelta(days=30), status,
                             touch_id, release, None, None, None, None, None, None, created, created))
            return True

        placed = 0
        for index in candidates:
            if placed >= on_touches:
                break
            region_id = self.employer_region[index]
            planned = self.today + dt.timedelta(days=int(rand() * 46) - 10)
            ws = planned - dt.timedelta(days=int(rand() * 11))
            scheduled = rand() < 0.4 and planned <= self.today + dt.timedelta(days=14)
            at = dt.datetime(planned.year, planned.month, planned.day, 17, tzinfo=dt.UTC) if scheduled else None
            spoc = self.employer_spoc[index] or None
            self._touch_id += 1
            created = self.now - dt.timedelta(days=1 + int(rand() * 20))
            touches.append((self._touch_id, index + 1, region_id, spoc, "scheduled" if scheduled else "queued",
                            "routed", "visit" if scheduled else None, ws, ws + dt.timedelta(days=30), planned, at,
                            None, None, None, None, None, spoc, created, created))
            opened.append((index, planned))
            r = rand()
            n = 1 if r < 0.6 else 2 if r < 0.88 else 3
            for _ in range(min(n, on_touches - placed)):
                placed += request(index, "scheduled" if scheduled else "queued", self._touch_id, ws, None)
        # Held: employers whose budget is taken by their open touch; released about two weeks after it.
        for _ in range(held * 3):
            if len(requests) >= target or not opened:
                break
            index, planned = opened[int(rand() * len(opened))]
            release = max(planned, self.today) + dt.timedelta(days=HISTORY_GAP_DAYS)
            request(index, "held", None, self.today, release)
        self.counts["touches (open)"] = len(touches)
        self.counts["touch requests (open)"] = len(requests)
        self.counts["touch requests (held)"] = sum(1 for r in requests if r[10] == "held")
        return touches, requests
