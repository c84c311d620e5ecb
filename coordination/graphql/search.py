"""The ``search`` query: incidents and partners matching a text, best first, a page at a time.

The ranking, matching and scoping are :func:`coordination.search.search`'s; this module pages
the hits with cursors of its own and loads the objects found: one query per kind of object,
planned by the optimizer from what the client selected under ``node``, so that nested fields
are prefetched for the whole page rather than fetched hit by hit.
"""

from typing import Annotated

import strawberry
from django.conf import settings
from graphql import FieldNode, FragmentSpreadNode, GraphQLResolveInfo, InlineFragmentNode
from strawberry import Info, relay
from strawberry_django.optimizer import optimize

from coordination import models as coordination_models
from coordination.graphql.types import Incident
from coordination.search import INCIDENT, PARTNER, InvalidSearch, SearchHit, search
from opsapi.graphql.errors import BadInput
from opsapi.graphql.pages import NotACursor, cursor_numbers, encode_cursor
from opsapi.graphql.scoping import current_user
from partners import models as partners_models
from partners.graphql.types import Partner

SEARCH_PAGE_SIZE = 20
CURSOR_PREFIX = "search"
MODELS = {INCIDENT: coordination_models.Incident, PARTNER: partners_models.Partner}

SearchResult = Annotated[
    Incident | Partner,
    strawberry.union("SearchResult", description="An object the search can find."),
]


@strawberry.type(description="One object found, and how well it matched.")
class SearchEdge:
    cursor: str = strawberry.field(description="Pass as `after` for the hits after this one.")
    rank: float = strawberry.field(
        description="Relevance, higher is better (an incident whose reference number is the "
        "whole query comes first whatever its rank)."
    )
    node: SearchResult


@strawberry.type(description="A page of search hits, best first.")
class SearchConnection:
    edges: list[SearchEdge]
    page_info: relay.PageInfo
    total_count: int = strawberry.field(description="Hits on all pages together.")


def _cursor(position: int) -> str:
    return encode_cursor(CURSOR_PREFIX, position)


def _position_after(cursor: str) -> int:
    """The position of the hit a cursor from this field names; NotACursor for any other."""
    numbers = cursor_numbers(cursor, CURSOR_PREFIX)
    if numbers is None:
        raise NotACursor("after", "search")
    return numbers[0]


def _fields_named(field_nodes, name: str, fragments) -> list[FieldNode]:
    """The fields called ``name`` selected directly under ``field_nodes``, fragments included."""
    found = []
    pending = [node.selection_set for node in field_nodes if node.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == name:
                    found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                pending.append(fragments[selection.name.value].selection_set)
    return found


def _node_info(info: Info) -> GraphQLResolveInfo | None:
    """Resolve info as the ``edges.node`` field would see it, for the optimizer (None when no
    hit's object is selected)."""
    raw = info._raw_info
    edges = _fields_named(raw.field_nodes, "edges", raw.fragments)
    nodes = _fields_named(edges, "node", raw.fragments)
    if not nodes:
        return None
    return raw._replace(
        field_name="node",
        field_nodes=nodes,
        return_type=raw.schema.get_type("SearchResult"),
        parent_type=raw.schema.get_type("SearchEdge"),
        path=raw.path.add_key("edges", "SearchConnection").add_key(0).add_key("node", "SearchEdge"),
    )


def _load(hits: list[SearchHit], info: Info) -> dict:
    """{(kind, pk): object} for the hits, each kind in one query, scoped to the caller again."""
    user = current_user(info)
    node_info = _node_info(info)
    found = {}
    for kind, model in MODELS.items():
        pks = [hit.pk for hit in hits if hit.kind == kind]
        if not pks:
            continue
        rows = model.objects.visible_to(user).filter(pk__in=pks)
        if node_info is not None:
            rows = optimize(rows, node_info)
        found.update(((kind, row.pk), row) for row in rows)
    return found


@strawberry.type
class SearchQuery:
    @strawberry.field(
        description="Incidents (by reference number, title, summary or timeline entries) and "
        "partners (by name or contacts) matching `query`, best first; an incident whose "
        "reference number is the whole query comes first. Only what you may see is searched. "
        f"Pages of {SEARCH_PAGE_SIZE} hits unless `first` says otherwise "
        f"(at most {settings.GRAPHQL_MAX_PAGE_SIZE})."
    )
    def search(
        self,
        info: Info,
        query: str,
        first: int | None = None,
        after: str | None = None,
    ) -> SearchConnection:
        limit = SEARCH_PAGE_SIZE if first is None else first
        offset = 0 if after is None else _position_after(after) + 1
        try:
            results = search(user=current_user(info), text=query, offset=offset, limit=limit)
        except InvalidSearch as error:
            raise BadInput(str(error), argument="query") from None
        objects = _load(results.hits, info)
        edges = [
            SearchEdge(cursor=_cursor(offset + i), rank=hit.rank, node=objects[key])
            for i, hit in enumerate(results.hits)
            # A row deleted (or hidden) since the ranking query is left out of the page.
            if (key := (hit.kind, hit.pk)) in objects
        ]
        page_info = relay.PageInfo(
            has_next_page=offset + len(results.hits) < results.total,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return SearchConnection(edges=edges, page_info=page_info, total_count=results.total)
