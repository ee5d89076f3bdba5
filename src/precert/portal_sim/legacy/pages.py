"""The legacy portal's HTML: table layouts where each label sits in the cell beside its field
(`<td>Member ID: *</td><td><input name="fld_07"></td>`, never `<label for>`), a notice pop-up,
and the two skins: the normal one and the variant (other names, ids, classes and row order, the
same visible texts). Routes and state live in app.py and state.py."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from precert.portal_sim.legacy.state import Precert

PORTAL_TITLE = "Acme Health Provider Connect"
SERVICE_TYPES = ("Imaging", "Surgery", "Therapy", "Durable medical equipment")
CERTIFY = "I certify that the information provided is accurate"


@dataclass(frozen=True)
class Field:
    """One row of the submit form: `key` is what the server reads, `label` what a person sees."""

    key: str
    label: str
    required: bool
    kind: str = "text"  # text | date | select | file


SUBMIT_FIELDS = (
    Field("reference", "Your reference", False),
    Field("member_id", "Member ID", True),
    Field("date_of_birth", "Date of birth", True, "date"),
    Field("provider_npi", "Requesting provider NPI", True),
    Field("service_type", "Service type", True, "select"),
    Field("procedure_code", "Procedure code", True),
    Field("diagnosis_code", "Diagnosis code", True),
    Field("service_date", "Date of service", True, "date"),
    Field("units", "Units", True),
    Field("documents", "Clinical documents", False, "file"),
)


@dataclass(frozen=True)
class Skin:
    """Everything that differs between the normal portal and the variant; texts never do."""

    names: dict[str, str]
    order: tuple[str, ...]
    label_class: str
    field_class: str
    table_id: str


NORMAL = Skin(
    names={
        "username": "fld_uid", "password": "fld_pwd", "captcha": "fld_cap", "code": "fld_otp",
        "reference": "fld_01", "member_id": "fld_07", "date_of_birth": "fld_02",
        "provider_npi": "fld_12", "service_type": "fld_03", "procedure_code": "fld_09",
        "diagnosis_code": "fld_10", "service_date": "fld_11", "units": "fld_13",
        "documents": "fld_20", "certify": "fld_99", "search_reference": "q_ref",
    },
    order=tuple(f.key for f in SUBMIT_FIELDS),
    label_class="lbl",
    field_class="fld",
    table_id="tblPrecert",
)  # fmt: skip
VARIANT = Skin(
    names={
        "username": "ctl00$Body$txtLogon", "password": "ctl00$Body$txtSecret",
        "captcha": "ctl00$Body$txtHuman", "code": "ctl00$Body$txtPin",
        "reference": "ctl00$Body$txtClientRef", "member_id": "ctl00$Body$txtSubscriber",
        "date_of_birth": "ctl00$Body$txtDob", "provider_npi": "ctl00$Body$txtProv",
        "service_type": "ctl00$Body$ddlSvc", "procedure_code": "ctl00$Body$txtProc",
        "diagnosis_code": "ctl00$Body$txtDx", "service_date": "ctl00$Body$txtDos",
        "units": "ctl00$Body$txtQty", "documents": "ctl00$Body$fuDocs",
        "certify": "ctl00$Body$chkAttest", "search_reference": "ctl00$Body$txtFind",
    },
    order=(
        "member_id", "date_of_birth", "service_type", "procedure_code", "units",
        "diagnosis_code", "service_date", "provider_npi", "documents", "reference",
    ),
    label_class="FormLabel2",
    field_class="FormInput2",
    table_id="ctl00_Body_grdEntry",
)  # fmt: skip

STYLE = """
body { font-family: Verdana, Arial, sans-serif; font-size: 12px; background: #e8e8e8; }
.frame { width: 760px; margin: 0 auto; background: #fff; border: 1px solid #999; }
.banner { background: #003366; color: #fff; font-size: 16px; padding: 6px; }
.err { color: #c00; } .req { color: #c00; }
.overlay { position: fixed; inset: 0; background: rgba(0,0,0,.45); z-index: 10; }
.modal { width: 420px; margin: 120px auto; background: #ffc; border: 2px solid #996; padding: 8px; }
.captcha-img { font: bold 22px monospace; letter-spacing: 6px; background: #ccd;
  padding: 4px 10px; text-decoration: line-through; display: inline-block; }
"""


def document(title: str, body: str, *, signed_in: bool = False) -> str:
    """The frame every page shares: banner, a menu bar once signed in, the page heading."""
    menu = ""
    if signed_in:
        menu = (
            '<table width="100%"><tr><td><a href="/main">Main Menu</a> | '
            '<a href="/precert/new">Submit a Precertification</a> | '
            '<a href="/precert/status">Precertification Status</a></td>'
            '<td align="right"><a href="/logout">Log Off</a></td></tr></table>'
        )
    return (
        f"<!DOCTYPE html><html><head><title>{escape(title)} - {PORTAL_TITLE}</title>"
        f"<style>{STYLE}</style></head><body><div class=frame>"
        f"<div class=banner>{PORTAL_TITLE}</div>{menu}<h2>{escape(title)}</h2>{body}"
        "</div></body></html>"
    )


def label_cell(skin: Skin, label: str, required: bool) -> str:
    star = ' <span class="req">*</span>' if required else ""
    return f'<td class="{skin.label_class}" align="right">{escape(label)}:{star}</td>'


def input_row(skin: Skin, key: str, label: str, *, kind: str = "text", value: str = "") -> str:
    name = skin.names[key]
    ident = name.replace("$", "_")
    return (
        f"<tr>{label_cell(skin, label, False)}<td class={skin.field_class}>"
        f'<input type="{kind}" name="{escape(name)}" id="{ident}" value="{escape(value)}" '
        'size="24"></td></tr>'
    )


def errors_block(errors: list[str]) -> str:
    if not errors:
        return ""
    items = "".join(f"<li>{escape(e)}</li>" for e in errors)
    return f'<div class="err">Please correct the following:<ul>{items}</ul></div>'


def login_page(skin: Skin, error: str = "") -> str:
    body = (
        errors_block([error] if error else [])
        + '<form method="post" action="/login"><table>'
        + input_row(skin, "username", "User ID")
        + input_row(skin, "password", "Password", kind="password")
        + '<tr><td></td><td><input type="submit" value="Log On"></td></tr></table></form>'
    )
    return document("Provider Log On", body)


def captcha_page(skin: Skin, challenge: str, error: str = "") -> str:
    body = (
        errors_block([error] if error else [])
        + "<p>Type the characters shown in the picture.</p>"
        + f'<p><span class="captcha-img" data-challenge>{escape(challenge)}</span></p>'
        + '<form method="post" action="/login/captcha"><table>'
        + input_row(skin, "captcha", "Characters")
        + '<tr><td></td><td><input type="submit" value="Continue"></td></tr></table></form>'
    )
    return document("Verify you are human", body)


def code_page(skin: Skin, error: str = "") -> str:
    body = (
        errors_block([error] if error else [])
        + "<p>A verification code has been sent to the email address on file.</p>"
        + '<form method="post" action="/login/code"><table>'
        + input_row(skin, "code", "Verification code")
        + '<tr><td></td><td><input type="submit" value="Verify"></td></tr></table></form>'
        + '<form method="post" action="/login/code/resend">'
        + '<input type="submit" value="Send a new code"></form>'
    )
    return document("Verification Code", body)


def main_page(show_notice: bool) -> str:
    body = (
        "<p>Welcome to Provider Connect.</p><ul>"
        '<li><a href="/precert/new">Submit a Precertification</a></li>'
        '<li><a href="/precert/status">Precertification Status</a></li>'
        '<li><a href="/logout">Log Off</a></li></ul>'
    )
    if show_notice:
        body += (
            '<div class="overlay"><div class="modal" role="dialog" aria-modal="true">'
            "<h3>Important notice</h3><p>Provider Connect will be unavailable on Sunday from "
            "01:00 to 05:00 for scheduled maintenance.</p>"
            '<form method="post" action="/notice/close"><input type="submit" value="Close">'
            "</form></div></div>"
        )
    # No menu bar here: each link appears once, so "Click the link" finds exactly one.
    return document("Main Menu", body)


def field_cell(skin: Skin, item: Field, value: str) -> str:
    name = escape(skin.names[item.key])
    ident = skin.names[item.key].replace("$", "_")
    if item.kind == "select":
        options = '<option value="">-- Select --</option>' + "".join(
            f"<option{' selected' if value == s else ''}>{escape(s)}</option>"
            for s in SERVICE_TYPES
        )
        control = f'<select name="{name}" id="{ident}">{options}</select>'
    elif item.kind == "file":
        control = f'<input type="file" name="{name}" id="{ident}" multiple>'
    elif item.kind == "date":
        control = (
            f'<input type="text" name="{name}" id="{ident}" value="{escape(value)}" size="10" '
            'maxlength="10"> <small>(MM/DD/YYYY)</small>'
        )
    else:
        control = f'<input type="text" name="{name}" id="{ident}" value="{escape(value)}">'
    return f"<td class={skin.field_class}>{control}</td>"


def submit_page(skin: Skin, values: dict[str, str], errors: list[str]) -> str:
    by_key = {f.key: f for f in SUBMIT_FIELDS}
    rows = "".join(
        f"<tr>{label_cell(skin, by_key[k].label, by_key[k].required)}"
        f"{field_cell(skin, by_key[k], values.get(k, ''))}</tr>"
        for k in skin.order
    )
    certify = skin.names["certify"]
    # The checkbox sits in the cell BEFORE its text, as such portals often have it.
    rows += (
        f'<tr><td align="right"><input type="checkbox" name="{escape(certify)}" value="Y" '
        f'id="{certify.replace("$", "_")}"></td><td>{CERTIFY}</td></tr>'
    )
    body = (
        errors_block(errors)
        + '<p>Fields marked <span class="req">*</span> are required.</p>'
        + '<form method="post" action="/precert/new" enctype="multipart/form-data">'
        + f'<table id="{skin.table_id}" cellpadding="3">{rows}</table>'
        + '<input type="submit" value="Submit Request"> <input type="reset" value="Clear"></form>'
    )
    return document("Submit a Precertification", body, signed_in=True)


def detail_rows(record: Precert) -> str:
    rows = [("Tracking number", record.tracking), ("Your reference", record.reference)]
    rows.append(("Request status", record.status))
    if record.status == "Approved":
        rows.append(("Authorization number", record.authorization_number))
    elif record.status == "Denied":
        rows.append(("Denial reason", record.denial_reason))
    else:
        rows.append(("Review", "Pended for clinical review"))
    rows += [
        ("Procedure code", record.procedure_code),
        ("Date of service", record.service_date),
    ]
    return "".join(
        f"<tr><td class=lbl>{escape(k)}:</td><td><b>{escape(v)}</b></td></tr>" for k, v in rows
    )


def confirmation_page(record: Precert) -> str:
    body = (
        "<p>Your precertification request was received.</p>"
        f"<table cellpadding=3>{detail_rows(record)}</table>"
        '<p><a href="/precert/new">Submit another</a></p>'
    )
    return document("Submission Confirmation", body, signed_in=True)


def duplicate_page(existing: Precert) -> str:
    body = (
        '<p class="err">A precertification with this reference already exists. '
        "Nothing was submitted.</p><table cellpadding=3>"
        f"<tr><td>Existing tracking number:</td><td><b>{escape(existing.tracking)}</b></td></tr>"
        f"<tr><td>Status:</td><td><b>{escape(existing.status)}</b></td></tr></table>"
    )
    return document("Duplicate Request", body, signed_in=True)


def status_page(skin: Skin, reference: str, found: list[Precert] | None) -> str:
    body = (
        '<form method="get" action="/precert/status"><table>'
        + input_row(skin, "search_reference", "Your reference", value=reference)
        + '<tr><td></td><td><input type="submit" value="Search"></td></tr></table></form>'
    )
    if found is not None and not found:
        body += "<h3>Search Results</h3><p>No matching records found.</p>"
    elif found:
        head = "".join(
            f"<th>{h}</th>"
            for h in ("Tracking number", "Your reference", "Submitted", "Status", "")
        )
        rows = "".join(
            f"<tr><td>{escape(r.tracking)}</td><td>{escape(r.reference)}</td>"
            f"<td>{escape(r.submitted_at[:10])}</td><td>{escape(r.status)}</td>"
            f'<td><a href="/precert/{escape(r.tracking)}">Details</a></td></tr>'
            for r in found
        )
        body += (
            '<table border="1" cellpadding="3" summary="Search Results">'
            f"<caption>Search Results</caption><tr>{head}</tr>{rows}</table>"
        )
    return document("Precertification Status", body, signed_in=True)


def detail_page(record: Precert) -> str:
    body = f"<table cellpadding=3>{detail_rows(record)}</table>"
    return document("Precertification Detail", body, signed_in=True)


def not_found_page() -> str:
    return document("Not Found", "<p>The page or record was not found.</p>", signed_in=True)
