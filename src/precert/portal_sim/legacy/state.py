"""What the legacy portal remembers: its users, sign-in sessions (in memory: a restart signs
everyone out, as a real portal would) and precertification requests (a JSON file in the state
directory, so a restarted portal still finds a request by "Your reference").

HTML lives in pages.py and routes in app.py; this module holds no HTTP."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

Status = Literal["Approved", "Pended", "Denied"]
SENDER = "no-reply@legacy-portal.example"
CODE_LIFETIME = dt.timedelta(minutes=10)
DENIAL_REASON = "Not medically necessary based on the documentation submitted"
# Procedure codes the default decision does not approve; anything else is approved.
DEFAULT_OUTCOMES: dict[str, Status] = {"72148": "Pended", "97110": "Denied"}

MailSink = Callable[[EmailMessage], None]
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class LegacyUser:
    """A portal login: the password checked at "Log On" and where email codes are sent."""

    password: str
    email: str


DEFAULT_USERS = {"clinic.user": LegacyUser("Legacy-Pa55", "codes@clinic.example")}


@dataclass
class Session:
    """One browser's sign-in: stage "captcha" → "code" → "in"."""

    user: str
    stage: str
    code: str = ""
    code_expires: dt.datetime | None = None
    captcha: str = ""
    notice_closed: bool = False


@dataclass
class Precert:
    """One submitted request as the portal stores it (dates ISO)."""

    tracking: str
    reference: str
    user: str
    member_id: str
    date_of_birth: str
    provider_npi: str
    service_type: str
    procedure_code: str
    diagnosis_code: str
    service_date: str
    units: str
    documents: list[str]
    submitted_at: str
    status: Status
    authorization_number: str = ""
    denial_reason: str = ""


@dataclass
class PortalState:
    """Users, sessions, the request store and the counters behind CAPTCHAs and tracking numbers."""

    state_dir: Path
    users: dict[str, LegacyUser]
    clock: Clock
    mail_sink: MailSink
    captcha_every: int
    outcomes: dict[str, Status]
    sessions: dict[str, Session] = field(default_factory=dict)
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Precert] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._path.exists():
            rows = json.loads(self._path.read_text(encoding="utf-8"))
            self.requests = [Precert(**row) for row in rows]

    @property
    def _path(self) -> Path:
        return self.state_dir / "legacy-portal.json"

    def _save(self) -> None:
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps([asdict(r) for r in self.requests], indent=1), "utf-8")
        temporary.replace(self._path)

    # -- sign-in ------------------------------------------------------------------------------

    def password_ok(self, username: str, password: str) -> bool:
        user = self.users.get(username)
        return user is not None and secrets.compare_digest(user.password, password)

    def start_session(self, username: str) -> str:
        """A session after a right password: every Nth one must pass a CAPTCHA first."""
        with self.lock:
            self.logins += 1
            captcha = self.captcha_every > 0 and self.logins % self.captcha_every == 0
        sid = secrets.token_urlsafe(24)
        session = Session(user=username, stage="captcha" if captcha else "code")
        self.sessions[sid] = session
        if captcha:
            self.new_captcha(session)
        else:
            self.send_code(session)
        return sid

    def new_captcha(self, session: Session) -> None:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: a person must read it
        session.captcha = "".join(secrets.choice(alphabet) for _ in range(6))

    def solve_captcha(self, session: Session, answer: str) -> bool:
        if answer.strip().upper() != session.captcha:
            self.new_captcha(session)
            return False
        session.stage = "code"
        self.send_code(session)
        return True

    def send_code(self, session: Session) -> None:
        """A fresh six-digit code, "sent" through the mail sink to the user's address."""
        session.code = "".join(secrets.choice(string.digits) for _ in range(6))
        session.code_expires = self.clock() + CODE_LIFETIME
        message = EmailMessage()
        message["From"] = f"Provider Connect <{SENDER}>"
        message["To"] = self.users[session.user].email
        message["Subject"] = "Your Provider Connect verification code"
        message["Date"] = self.clock().strftime("%a, %d %b %Y %H:%M:%S +0000")
        message.set_content(
            f"Your verification code is {session.code}. It expires in 10 minutes.\n"
            "If you did not try to log on, call Provider Services.\n"
        )
        self.mail_sink(message)

    def check_code(self, session: Session, code: str) -> bool:
        expires = session.code_expires
        fresh = expires is not None and self.clock() <= expires
        if fresh and session.code and secrets.compare_digest(session.code, code.strip()):
            session.stage = "in"
            session.code = ""
            return True
        return False

    # -- requests -----------------------------------------------------------------------------

    def by_reference(self, reference: str) -> list[Precert]:
        wanted = reference.strip().casefold()
        return [r for r in self.requests if wanted and r.reference.casefold() == wanted]

    def by_tracking(self, tracking: str) -> Precert | None:
        return next((r for r in self.requests if r.tracking == tracking), None)

    def submit(
        self, user: str, values: dict[str, str], documents: list[str]
    ) -> tuple[Precert, bool]:
        """Store a new request with its decision → (it, True); or, when "Your reference" is
        already taken, (the existing request, False). One lock covers both the check and the
        store, so two racing submits with one reference cannot both land."""
        with self.lock:
            existing = self.by_reference(values["reference"])
            if existing:
                return existing[0], False
            sequence = len(self.requests) + 1
            status: Status = self.outcomes.get(values["procedure_code"].upper(), "Approved")
            record = Precert(
                tracking=f"PC{sequence:07d}",
                reference=values["reference"],
                user=user,
                member_id=values["member_id"],
                date_of_birth=values["date_of_birth"],
                provider_npi=values["provider_npi"],
                service_type=values["service_type"],
                procedure_code=values["procedure_code"].upper(),
                diagnosis_code=values["diagnosis_code"].upper(),
                service_date=values["service_date"],
                units=values["units"],
                documents=documents,
                submitted_at=self.clock().isoformat(),
                status=status,
                authorization_number=f"A{5100000 + sequence}" if status == "Approved" else "",
                denial_reason=DENIAL_REASON if status == "Denied" else "",
            )
            self.requests.append(record)
            self._save()
            return record, True

    def decide(self, tracking: str, status: Status, *, reason: str = DENIAL_REASON) -> Precert:
        """Move a pended request on (tests and the demo: the payer's reviewer decided)."""
        with self.lock:
            record = self.by_tracking(tracking)
            if record is None:
                raise KeyError(tracking)
            record.status = status
            if status == "Approved" and not record.authorization_number:
                record.authorization_number = f"A{5100000 + int(record.tracking[2:])}"
            record.denial_reason = reason if status == "Denied" else ""
            self._save()
            return record
