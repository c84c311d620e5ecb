"""The pages a person opens besides the API: the landing page at /, where logging in and the
admin's "View site" lead, the repository's documentation as plain text, and the site's icon.

Server-rendered, no scripts, nothing loaded from elsewhere.
"""

import dataclasses
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.templatetags.static import static
from django.views.generic import RedirectView

from opsapi.accounts.access import roles_of

ICON = "opsapi/favicon.svg"


@dataclasses.dataclass(frozen=True)
class Doc:
    """One Markdown file of the repository, shown at /docs/<name>/."""

    name: str
    source: str  # its path in the repository
    title: str  # its first heading


def repository_docs() -> list[Doc]:
    """README.md, then docs/*.md by file name, read as they are now."""
    root = Path(settings.BASE_DIR)
    paths = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [
        Doc(
            name=path.stem.lower(),
            source=str(path.relative_to(root)),
            title=_title(path.read_text(encoding="utf-8"), path.stem),
        )
        for path in paths
        if path.is_file()
    ]


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def role_descriptions(user) -> list[str]:
    """What ``user`` is (opsapi.accounts.access), one sentence per role; empty for none."""
    roles = roles_of(user)
    described = []
    if roles.administrator:
        described.append("Administrator: the admin, partners, memberships and roles.")
    if roles.officer:
        described.append(
            "Operations officer: reads everything; opens and changes incidents, timeline "
            "entries, shares and actions; manages partners and contacts."
        )
    if roles.auditor:
        described.append("Auditor: reads everything, all history included; changes nothing.")
    if roles.partner_id is not None:
        partner = user.partner_membership.partner.name
        described.append(
            f"Partner user of {partner}: sees what is shared with {partner} and answers its "
            "actions."
        )
    return described


@login_required
def landing(request):
    context = {"roles": role_descriptions(request.user), "docs": repository_docs()}
    return render(request, "opsapi/landing.html", context)


@login_required
def doc(request, name: str):
    """One document as plain, preformatted text (Markdown reads well as it is)."""
    for found in repository_docs():
        if found.name == name:
            text = (Path(settings.BASE_DIR) / found.source).read_text(encoding="utf-8")
            return render(request, "opsapi/doc.html", {"doc": found, "text": text})
    raise Http404(f"No document named {name!r}.")


# Browsers ask for /favicon.ico wherever a page names no icon (the admin's, a JSON answer).
favicon = RedirectView.as_view(url=static(ICON))
