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

On PostgreSQL the documents are full-text vectors (``english`` configuration) that the
database stores and keeps: each searched table has a ``search_vector`` column, ``GENERATED
ALWAYS AS (...) STORED`` from the fields and weights of :data:`DOCUMENTS`, with a GIN index
(migrations ``coordination/0006_search_vectors`` and ``partners/0004_search_vectors``). Matching
reads the index and ranking reads the stored vector, so nothing is parsed again at query time
(a word in every one of 50,000 incidents: ``bench/search.py``). The query is every term as a
whole word, the last one as a prefix ("chlor" finds "chlorine", "chlorine le" finds "chlorine
leak"), except a lone term under :data:`MIN_PREFIX` characters, which is a whole word. A
prefix is stemmed like the words it is matched against, so a typed stem finds them but a
longer part of a word whose stem is shorter does not ("emerg" finds "emergency", stored as
``emerg``; "emergenc" does not).

The column is deliberately not a model field (a Django ``GeneratedField`` would be): Django
never names it in an INSERT or UPDATE and never reads it back, so ``save_with_history`` writes
exactly what it wrote before; simple-history, which copies every field of a tracked model into
its historical table, does not copy it; and the audit chain (``opsapi/audit/chain.py``), which
hashes the tracked fields, does not see it. Only this module refers to it, through
:class:`StoredVector`. Elsewhere (SQLite) every term must be contained, case-insensitively, in
the document (so the last term is a prefix there too), and the rank is a weighted count on the
scale of ``ts_rank``'s default weights.
"""

import dataclasses
import re

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVectorExact,
    SearchVectorField,
)
from django.db import connection
from django.db.models import BooleanField, Case, Expression, F, Func, Q, Value, When
from django.db.models.expressions import Col

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
# A lone term shorter than this is taken as a whole word: as a prefix it would match nearly
# every document, and each one found must be ranked. After other terms it is a prefix.
MIN_PREFIX = 3

# Which fields make up each searchable document, with their weight label: on PostgreSQL the
# generated ``search_vector`` columns of the migrations (change them together).
DOCUMENTS = {
    "incident": (("reference", "A"), ("title", "B"), ("summary", "C")),
    "update": (("body", "D"),),
    "partner": (("name", "C"),),
    "contact": (("name", "D"), ("title", "D"), ("email", "D")),
}

# Terms are runs of letters and digits: nothing else of the user's text reaches a tsquery, so
# no input can be a tsquery syntax error. The stored vectors split documents into words the
# same way (runs of other characters than [:alnum:] made blanks before parsing).
TERM = re.compile(r"[^\W_]+")
VECTOR_COLUMN = "search_vector"


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
    found = Q(matcher.matches("incident")) | Q(reference=reference) | _pk_among(by_entry)
    rank = matcher.rank("incident") + _bonus_if(Q(pk__in=by_entry))
    return Incident.objects.visible_to(user).filter(found).order_by(), rank


def _partners(user, matcher):
    """The partners found by name or by a contact ``user`` may see; and the expression
    ranking each."""
    contacts = Contact.objects.visible_to(user).filter(matcher.matches("contact"))
    by_contact = contacts.order_by().values("partner_id")
    found = Q(matcher.matches("partner")) | _pk_among(by_contact)
    rank = matcher.rank("partner") + _bonus_if(Q(pk__in=by_contact))
    return Partner.objects.visible_to(user).filter(found).order_by(), rank


def _pk_among(subquery) -> Q:
    """The primary key is one of ``subquery``'s values. On PostgreSQL as ``pk =
    ANY(ARRAY(subquery))``: the array is computed once and probes the primary key's index, so
    the planner ORs it with the text index and the reference in one bitmap scan, reading only
    the rows found. (``pk IN (subquery)`` would make it test every row of the table: 40 times
    slower for a rare word at 50,000 incidents; a UNION of the three, as before, twice as slow
    for a broad one.)"""
    if connection.vendor == "postgresql":
        return Q(_EqualsAny(F("pk"), ArraySubquery(subquery)))
    return Q(pk__in=subquery)


class _EqualsAny(Func):
    """``value = ANY(array)``."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def _bonus_if(condition: Q) -> Case:
    # An uncorrelated IN: PostgreSQL evaluates it once for all rows, as a hashed subplan.
    return Case(When(condition, then=Value(SECONDARY_MATCH)), default=Value(0.0))


def _hits(rows, kind: str, exact, rank):
    """``rows`` as (kind, pk, exact, rank) tuples: the same columns for every kind, so that
    the kinds can be ranked together in one UNION."""
    return rows.annotate(
        hit_kind=Value(kind), hit_id=F("pk"), hit_exact=exact, hit_rank=rank
    ).values_list("hit_kind", "hit_id", "hit_exact", "hit_rank")


class StoredVector(Expression):
    """The stored ``search_vector`` column of the queryset's own table: a column the database
    maintains and the model does not declare. It resolves to a plain column reference of the
    query's base table, so that it follows the table into subqueries and unions as any column
    does (Django relabels their aliases)."""

    output_field = SearchVectorField()

    def resolve_expression(
        self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False
    ):
        column = SearchVectorField()
        column.set_attributes_from_name(VECTOR_COLUMN)
        return Col(query.get_initial_alias(), column)


class FullText:
    """PostgreSQL full-text matching: every term, the last one as a prefix."""

    def __init__(self, terms: list[str]):
        self.query = None
        if terms:
            *whole, last = terms
            if whole or len(last) >= MIN_PREFIX:
                last = f"{last}:*"
            self.query = SearchQuery(
                " & ".join([*whole, last]), config=SEARCH_CONFIG, search_type="raw"
            )

    def matches(self, document: str):
        if self.query is None:
            return NOTHING
        return SearchVectorExact(StoredVector(), self.query)

    def rank(self, document: str):
        if self.query is None:
            return Value(0.0)
        return SearchRank(StoredVector(), self.query)


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
