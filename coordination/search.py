"""Search across incidents and partners: one ranked list of hits, scoped to the caller.

An incident is found by its own text (reference number, title, summary) or by the text of one
of its timeline entries *that the caller may see*; a partner by its name or by one of its
contacts the caller may see. Every term of the query must occur in the same document: the
incident's own text, one timeline entry, the partner's name, or one contact. The whole query
equal to a reference number (in any case) puts that incident first, whatever the text ranks.

The rank of an incident is the relevance of its own text (reference above title above
summary) plus a fixed :data:`SECONDARY_MATCH` if a visible timeline entry matches; a
partner's, that of its name plus the same if a visible contact matches. Entries and contacts
add a flat amount rather than a relevance of their own because ranking them would mean
reading every entry of every incident found (measured: 13 of 19 seconds for a word in 38,000
of 50,000 incidents).

On PostgreSQL the documents are full-text vectors (``english`` configuration; the last term
a prefix, from :data:`MIN_PREFIX` characters, so that "chlor" finds "chlorine"), matched
through GIN expression indexes that the migrations ``coordination/0003_search_indexes`` and
``partners/0002_search_indexes`` create over *exactly* the expressions built here: change one
and the other must change with it, or the planner reads every row instead
(``tests/coordination/test_search.py`` checks the plan). Elsewhere (SQLite) every term must
be contained, case-insensitively, in the document, and the rank is a weighted count on the
scale of ``ts_rank``'s default weights.
"""

import dataclasses
import re

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorExact,
)
from django.db import connection
from django.db.models import Case, F, Func, Q, TextField, Value, When

from coordination.models import Incident, IncidentUpdate
from opsapi.audit.tracking import NOTHING
from partners.models import Contact, Partner

MAX_QUERY_LENGTH = 200
SEARCH_CONFIG = "english"

INCIDENT = "incident"
PARTNER = "partner"

# ts_rank's default weights for the labels D, C, B, A: the fallback ranks on the same scale.
WEIGHTS = {"A": 1.0, "B": 0.4, "C": 0.2, "D": 0.1}
# What a matching timeline entry adds to an incident's rank, or a contact to a partner's.
SECONDARY_MATCH = WEIGHTS["D"]
# A shorter last term is taken as a whole word: as a prefix it would match nearly every
# document, and each one found must be ranked.
MIN_PREFIX = 3

# Which fields make up each searchable document, with their weight label.
DOCUMENTS = {
    "incident": (("reference", "A"), ("title", "B"), ("summary", "C")),
    "update": (("body", "D"),),
    "partner": (("name", "C"),),
    "contact": (("name", "D"), ("title", "D"), ("email", "D")),
}

# Terms are runs of letters and digits: nothing else of the user's text reaches a tsquery, so
# no input can be a tsquery syntax error. Documents are split into words the same way.
TERM = re.compile(r"[^\W_]+")
NOT_A_WORD = "[^[:alnum:]]+"


class InvalidSearch(ValueError):
    """The search text cannot be searched for."""


@dataclasses.dataclass(frozen=True)
class SearchHit:
    """One object found: its kind (``incident`` or ``partner``), primary key and rank."""

    kind: str
    pk: int
    rank: float


@dataclasses.dataclass(frozen=True)
class SearchResults:
    """One page of hits, best first, and how many hits there are in all."""

    hits: list[SearchHit]
    total: int


def clean_query(text: str) -> str:
    """The search text without surrounding blanks; :class:`InvalidSearch` if it is empty,
    longer than :data:`MAX_QUERY_LENGTH` or holds NUL characters (which no database stores)."""
    if "\x00" in text:
        raise InvalidSearch("The search text must not contain NUL characters.")
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidSearch(f"The search text is limited to {MAX_QUERY_LENGTH} characters.")
    text = text.strip()
    if not text:
        raise InvalidSearch("Give some text to search for.")
    return text


def search(*, user, text: str, offset: int, limit: int) -> SearchResults:
    """Incidents and partners ``user`` may see that match ``text``, ranked: an incident whose
    reference number is ``text`` first, then by relevance, ties by kind and primary key (so
    that pages never overlap). Returns the hits at ``offset``..``offset + limit`` and the
    total, in two queries. Raises :class:`InvalidSearch` for text :func:`clean_query` refuses."""
    text = clean_query(text)
    terms = TERM.findall(text)
    matcher = FullText(terms) if connection.vendor == "postgresql" else Substrings(terms)
    # References are issued upper-case, so an equality the unique index answers will do.
    reference = text.upper()
    incidents, incident_rank = _incidents(user, reference, matcher)
    partners, partner_rank = _partners(user, matcher)
    # Counted apart from the page, without the ranking, which is the costly part.
    total = incidents.values("pk").union(partners.values("pk"), all=True).count()
    exact = Case(When(reference=reference, then=Value(1)), default=Value(0))
    hits = _hits(incidents, INCIDENT, exact, incident_rank).union(
        _hits(partners, PARTNER, Value(0), partner_rank), all=True
    )
    page = hits.order_by("-hit_exact", "-hit_rank", "hit_kind", "hit_id")[offset : offset + limit]
    return SearchResults(
        hits=[SearchHit(kind=kind, pk=pk, rank=rank) for kind, pk, _, rank in page],
        total=total,
    )


def _incidents(user, reference: str, matcher):
    """The incidents found by their own text, by a timeline entry ``user`` may see, or by
    their reference number; and the expression ranking each."""
    entries = IncidentUpdate.objects.visible_to(user).filter(matcher.matches("update"))
    by_entry = entries.order_by().values("incident_id")
    found = (
        Incident.objects.filter(matcher.matches("incident"))
        .order_by()
        .values("pk")
        .union(Incident.objects.filter(reference=reference).order_by().values("pk"), by_entry)
    )
    rank = matcher.rank("incident") + _bonus_if(Q(pk__in=by_entry))
    return Incident.objects.visible_to(user).filter(pk__in=found).order_by(), rank


def _partners(user, matcher):
    """The partners found by name or by a contact ``user`` may see; and the expression
    ranking each."""
    contacts = Contact.objects.visible_to(user).filter(matcher.matches("contact"))
    by_contact = contacts.order_by().values("partner_id")
    found = (
        Partner.objects.filter(matcher.matches("partner")).order_by().values("pk").union(by_contact)
    )
    rank = matcher.rank("partner") + _bonus_if(Q(pk__in=by_contact))
    return Partner.objects.visible_to(user).filter(pk__in=found).order_by(), rank


def _bonus_if(condition: Q) -> Case:
    # An uncorrelated IN: PostgreSQL evaluates it once for all rows, as a hashed subplan.
    return Case(When(condition, then=Value(SECONDARY_MATCH)), default=Value(0.0))


def _hits(rows, kind: str, exact, rank):
    """``rows`` as (kind, pk, exact, rank) tuples: the same columns for every kind, so that
    the kinds can be ranked together in one UNION."""
    return rows.annotate(
        hit_kind=Value(kind), hit_id=F("pk"), hit_exact=exact, hit_rank=rank
    ).values_list("hit_kind", "hit_id", "hit_exact", "hit_rank")


def search_document(name: str) -> SearchVector:
    """The weighted full-text vector of a document (``incident``, ``update``, ``partner`` or
    ``contact``): the expression the GIN indexes are built on."""
    vectors = [
        SearchVector(_words(field), config=SEARCH_CONFIG, weight=weight)
        for field, weight in DOCUMENTS[name]
    ]
    vector = vectors[0]
    for other in vectors[1:]:
        vector = vector + other
    return vector


def _words(field: str) -> Func:
    """The field's text with every run of other characters than letters and digits made a
    blank: the text is split into words as the query is (:data:`TERM`). PostgreSQL's parser
    would otherwise keep "OPS-2026-000123" as "ops", "-2026", "-000123" and an email address
    as one word, which no typed term could match."""
    return Func(
        F(field),
        Value(NOT_A_WORD),
        Value(" "),
        Value("g"),
        function="REGEXP_REPLACE",
        output_field=TextField(),
    )


class FullText:
    """PostgreSQL full-text matching: every term, the last one as a prefix."""

    def __init__(self, terms: list[str]):
        self.query = None
        if terms:
            last = f"{terms[-1]}:*" if len(terms[-1]) >= MIN_PREFIX else terms[-1]
            self.query = SearchQuery(
                " & ".join([*terms[:-1], last]), config=SEARCH_CONFIG, search_type="raw"
            )

    def matches(self, document: str):
        if self.query is None:
            return NOTHING
        return SearchVectorExact(search_document(document), self.query)

    def rank(self, document: str):
        if self.query is None:
            return Value(0.0)
        return SearchRank(search_document(document), self.query)


class Substrings:
    """The fallback: every term contained in the document, case-insensitively (ASCII)."""

    def __init__(self, terms: list[str]):
        self.terms = terms

    def matches(self, document: str) -> Q:
        if not self.terms:
            return NOTHING
        fields = [field for field, _ in DOCUMENTS[document]]
        condition = Q()
        for term in self.terms:
            condition &= _any_contains(fields, term)
        return condition

    def rank(self, document: str):
        """Each term scores the weight of every field it occurs in."""
        return _balanced_sum(
            [
                Case(
                    When(**{f"{field}__icontains": term}, then=Value(WEIGHTS[weight])),
                    default=Value(0.0),
                )
                for term in self.terms
                for field, weight in DOCUMENTS[document]
            ]
        )


def _any_contains(fields, term: str) -> Q:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": term})
    return condition


def _balanced_sum(expressions):
    """The sum of ``expressions`` as a balanced tree: a query of a hundred terms would nest a
    left-leaning sum deeper than Python's recursion limit lets Django compile it."""
    if not expressions:
        return Value(0.0)
    if len(expressions) == 1:
        return expressions[0]
    middle = len(expressions) // 2
    return _balanced_sum(expressions[:middle]) + _balanced_sum(expressions[middle:])
