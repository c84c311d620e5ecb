"""Trusted documents (persisted operations): the GraphQL documents the web and mobile clients
were built with, loaded from manifests at start, and who may send nothing else.

``GRAPHQL_TRUSTED_DOCUMENTS`` lists manifest files, each in one of the formats the client
tools write (docs/trusted-documents.md):

- Apollo's persisted-query manifest (``@apollo/generate-persisted-query-manifest``):
  ``{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
  "name", "type", "body"}]}``, each ``id`` the SHA-256 (hex) of its ``body``;
- a flat object of id -> document text (relay-compiler's ``persistConfig: {"file": ...}``),
  each id the MD5, SHA-1 or SHA-256 (hex) of its text, as relay-compiler's ``algorithm``.

Every id is checked against its text, and every document is parsed and validated against the
schema once, when the manifests load: a manifest that cannot be read, is not one of these
formats, names a document by a wrong id, or holds a document the schema refuses stops the
server with ``ImproperlyConfigured`` naming the file and the operation.

An operation names a trusted document by ``documentId`` (the GraphQL-over-HTTP
persisted-documents appendix: ``sha256:<hex>``, or a bare id as Relay sends it) or by
``extensions.persistedQuery.sha256Hash`` (Apollo, version 1). :func:`resolve` gives the
text to run; :class:`TrustedDocuments`, a schema extension, then hands the pre-parsed
document to execution instead of parsing and validating that text again.

``GRAPHQL_TRUSTED_DOCUMENTS_ONLY`` (``"all"``, or role names: ``ops_officer``,
``partner_user``, ``auditor``, ``administrator``, ``anonymous``) refuses any other document
from the callers it names; a user is restricted if any one of their roles is listed. Roles are
those of opsapi.accounts.access (docs/access.md). A document sent as text that equals a
trusted document is trusted: the restriction is on *what* runs, not on how it is named.

Any other document sent as text that passed validation is remembered too (the newest
``VALIDATED_TEXTS`` texts, per process) and runs the same way when its text comes again:
parsed and validated once, not on every request. It is trusted no more than any text; only
the work is saved. The document limits run on every request either way.
"""

import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from graphql import (
    DocumentNode,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from opsapi.accounts.access import AUDITOR, OPS_OFFICER, PARTNER_USER, roles_of

logger = logging.getLogger("opsapi.graphql")

# Codes of refused documents (``DocumentRefused.code``).
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"  # Apollo's: its link then retries
BAD_REQUEST = "BAD_REQUEST"
TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"

# What GRAPHQL_TRUSTED_DOCUMENTS_ONLY may list.
ALL = "all"
ADMINISTRATOR = "administrator"
ANONYMOUS = "anonymous"
ROLE_NAMES = (OPS_OFFICER, PARTNER_USER, AUDITOR, ADMINISTRATOR, ANONYMOUS)

APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
SHA256_PREFIX = "sha256:"

# The digests relay-compiler may name a document by, by the length of their hex form.
_DIGESTS = {32: "md5", 40: "sha1", 64: "sha256"}
_SETTINGS = ("GRAPHQL_TRUSTED_DOCUMENTS", "GRAPHQL_TRUSTED_DOCUMENTS_ONLY")
_MAX_ERRORS_SHOWN = 3
_MAX_ID_SHOWN = 80  # an id is echoed in a refusal up to this many characters


class DocumentRefused(Exception):
    """The operation's document cannot run: ``message`` for the client, and ``code``."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class TrustedDocument:
    """One document of a manifest, parsed and validated."""

    id: str  # as the manifest names it (hex digest)
    text: str
    document: DocumentNode


class Registry:
    """The trusted documents, by id and by text, and who may send only those."""

    def __init__(self, documents: list[TrustedDocument], only: frozenset[str]):
        self.by_id: dict[str, TrustedDocument] = {}
        self.by_text: dict[str, TrustedDocument] = {}
        for trusted in documents:
            self.by_id[trusted.id] = trusted
            self.by_text.setdefault(trusted.text, trusted)
        self.only = only

    def named(self, document_id: str) -> TrustedDocument | None:
        """The document a ``documentId`` names: ``sha256:<hex>``, or a bare id."""
        if document_id.startswith(SHA256_PREFIX):
            return self.by_sha256(document_id.removeprefix(SHA256_PREFIX))
        if ":" in document_id:  # another prefix (e.g. an application's x-...): none of ours
            return None
        return self.by_id.get(document_id)

    def by_sha256(self, digest: str) -> TrustedDocument | None:
        return self.by_id.get(digest) if len(digest) == 64 else None

    def parsed(self, text: str) -> DocumentNode | None:
        """The pre-parsed document whose text is exactly ``text``, if it is trusted."""
        trusted = self.by_text.get(text)
        return trusted.document if trusted is not None else None

    def restricts(self, user) -> bool:
        """Whether ``user`` may send trusted documents only."""
        if not self.only:
            return False
        if ALL in self.only:
            return True
        if user is None or not user.is_authenticated:
            return ANONYMOUS in self.only
        roles = roles_of(user)
        held = {
            OPS_OFFICER: roles.officer,
            AUDITOR: roles.auditor,
            ADMINISTRATOR: roles.administrator,
            PARTNER_USER: roles.partner_id is not None,
        }
        return any(held.get(name) for name in self.only)


# --- loading ---------------------------------------------------------------------------------


def _manifest_error(path: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"GRAPHQL_TRUSTED_DOCUMENTS: {path}: {problem}")


def _read(path: str) -> Any:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise _manifest_error(path, f"cannot be read ({error.strerror or error}).") from error
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise _manifest_error(path, f"is not a JSON file ({error}).") from error


def _hex_digest(algorithm: str, text: str) -> str:
    return hashlib.new(algorithm, text.encode("utf-8")).hexdigest()


def _apollo_entries(path: str, manifest: dict) -> Iterator[tuple[str, str]]:
    if manifest.get("version") != 1:
        raise _manifest_error(
            path,
            f"Apollo persisted-query manifest version {manifest.get('version')!r}; "
            "only version 1 is read.",
        )
    operations = manifest.get("operations")
    if not isinstance(operations, list):
        raise _manifest_error(path, "its 'operations' must be a list.")
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise _manifest_error(path, f"operation {index} is not an object.")
        document_id, body = operation.get("id"), operation.get("body")
        name = operation.get("name") or f"operation {index}"
        if not isinstance(document_id, str) or not isinstance(body, str):
            raise _manifest_error(path, f"operation {name!r} needs a string 'id' and 'body'.")
        if document_id != _hex_digest("sha256", body):
            raise _manifest_error(
                path,
                f"operation {name!r} has the id {document_id!r}, which is not the SHA-256 of "
                "its body (a hand-edited manifest, or a custom createOperationId: the server "
                "accepts content hashes only).",
            )
        yield document_id, body


def _flat_entries(path: str, manifest: dict) -> Iterator[tuple[str, str]]:
    for document_id, text in manifest.items():
        if not isinstance(text, str):
            raise _manifest_error(path, f"the entry {document_id!r} is not a document text.")
        algorithm = _DIGESTS.get(len(document_id))
        if algorithm is None or document_id != _hex_digest(algorithm, text):
            raise _manifest_error(
                path,
                f"the id {document_id!r} is not the MD5, SHA-1 or SHA-256 (lower-case hex) "
                "of its document text.",
            )
        yield document_id, text


def manifest_entries(path: str) -> list[tuple[str, str]]:
    """``(id, text)`` of each document of the manifest at ``path``, ids checked."""
    manifest = _read(path)
    if isinstance(manifest, dict) and manifest.get("format") == APOLLO_MANIFEST_FORMAT:
        return list(_apollo_entries(path, manifest))
    if isinstance(manifest, dict) and "format" not in manifest:
        return list(_flat_entries(path, manifest))
    raise _manifest_error(
        path,
        "is neither an Apollo persisted-query manifest nor a JSON object of id -> document "
        "(relay-compiler's persisted queries).",
    )


def _parsed_and_validated(schema, path: str, document_id: str, text: str) -> DocumentNode:
    """``text`` parsed, after strawberry's own validation (graphql-core's specified rules and
    strawberry's) found nothing wrong with it."""
    try:
        document = parse(text)
    except GraphQLSyntaxError as error:
        raise _manifest_error(
            path, f"the document {document_id!r} does not parse: {error.message}"
        ) from error
    errors = validate_document(schema, document, tuple(specified_rules))
    if errors:
        names = [
            d.name.value
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode) and d.name is not None
        ]
        shown = "; ".join(error.message for error in errors[:_MAX_ERRORS_SHOWN])
        more = len(errors) - _MAX_ERRORS_SHOWN
        raise _manifest_error(
            path,
            f"the operation {'/'.join(names) or '(anonymous)'} (id {document_id!r}) is not valid "
            f"against the schema: {shown}" + (f" (and {more} more)" if more > 0 else ""),
        )
    return document


def _only_setting() -> frozenset[str]:
    only = frozenset(settings.GRAPHQL_TRUSTED_DOCUMENTS_ONLY)
    unknown = sorted(only - {ALL, *ROLE_NAMES})
    if unknown:
        raise ImproperlyConfigured(
            f"GRAPHQL_TRUSTED_DOCUMENTS_ONLY names {', '.join(map(repr, unknown))}: list "
            f"'{ALL}' or role names ({', '.join(ROLE_NAMES)})."
        )
    if only and not settings.GRAPHQL_TRUSTED_DOCUMENTS:
        raise ImproperlyConfigured(
            "GRAPHQL_TRUSTED_DOCUMENTS_ONLY is set but GRAPHQL_TRUSTED_DOCUMENTS names no "
            "manifest: every operation of those callers would be refused."
        )
    return only


@lru_cache(maxsize=1)
def registry() -> Registry:
    """The trusted documents of ``GRAPHQL_TRUSTED_DOCUMENTS``, loaded once per process (again
    when a test overrides either setting). Raises ``ImproperlyConfigured``."""
    from opsapi.schema import schema  # the schema's extensions import this module

    only = _only_setting()
    graphql_schema = schema._schema
    documents, parsed = [], {}
    for path in settings.GRAPHQL_TRUSTED_DOCUMENTS:
        for document_id, text in manifest_entries(path):
            if text not in parsed:
                parsed[text] = _parsed_and_validated(graphql_schema, path, document_id, text)
            documents.append(TrustedDocument(document_id, text, parsed[text]))
    if documents or only:
        logger.info(
            "Trusted documents: %d from %d manifests; only trusted documents for: %s",
            len(parsed),
            len(settings.GRAPHQL_TRUSTED_DOCUMENTS),
            ", ".join(sorted(only)) or "nobody",
        )
    return Registry(documents, only)


@receiver(setting_changed)
def _reload(*, setting, **kwargs):
    if setting in _SETTINGS:
        registry.cache_clear()


# --- one operation ---------------------------------------------------------------------------


def _apollo_hash(extensions: Any) -> str | None:
    """Apollo's ``extensions.persistedQuery.sha256Hash``, checked; None without one."""
    if extensions is None:
        return None
    if not isinstance(extensions, Mapping):
        raise DocumentRefused("The operation's 'extensions' must be an object.", BAD_REQUEST)
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping) or not isinstance(persisted.get("sha256Hash"), str):
        raise DocumentRefused(
            "'extensions.persistedQuery' must be an object with a 'sha256Hash' string.",
            BAD_REQUEST,
        )
    if persisted.get("version") != 1:
        raise DocumentRefused(
            "Only version 1 of 'extensions.persistedQuery' is supported.", BAD_REQUEST
        )
    return persisted["sha256Hash"]


def _shown(document_id: str) -> str:
    if len(document_id) > _MAX_ID_SHOWN:
        return repr(document_id[:_MAX_ID_SHOWN] + "...")
    return repr(document_id)


def _hashes_to(text: str, document_id: str, *, sha256_only: bool) -> bool:
    """Whether ``document_id`` is the content hash of ``text`` (the id a client derived)."""
    digest = document_id.removeprefix(SHA256_PREFIX)
    algorithm = "sha256" if sha256_only or digest != document_id else _DIGESTS.get(len(digest))
    return algorithm is not None and digest == _hex_digest(algorithm, text)


def _named_document(
    trusted: Registry, params: Mapping[str, Any], query: str | None
) -> TrustedDocument | None:
    """The trusted document the parameters name by id; None if they name none, or if they
    name an unknown one by the hash of the query they also send (an Apollo retry)."""
    names = []  # (parameter, id, document or None)
    document_id = params.get("documentId")
    if document_id is not None:
        if not isinstance(document_id, str):
            raise DocumentRefused("The operation's 'documentId' must be a string.", BAD_REQUEST)
        names.append(("documentId", document_id, trusted.named(document_id)))
    digest = _apollo_hash(params.get("extensions"))
    if digest is not None:
        names.append(("extensions.persistedQuery", digest, trusted.by_sha256(digest)))
    if not names:
        return None
    if len({document.text if document else None for _, _, document in names}) > 1:
        raise DocumentRefused(
            "'documentId' and 'extensions.persistedQuery' name different documents.",
            BAD_REQUEST,
        )
    parameter, document_id, document = names[0]
    if document is None:
        if query is None:
            raise DocumentRefused(
                f"No trusted document has the id {_shown(document_id)}.",
                PERSISTED_QUERY_NOT_FOUND,
            )
        if not all(
            _hashes_to(query, value, sha256_only=name != "documentId") for name, value, _ in names
        ):
            raise DocumentRefused(
                f"The '{parameter}' {_shown(document_id)} is not the hash of the query sent "
                "with it.",
                BAD_REQUEST,
            )
        return None  # an unknown document, sent in full: judged as the query text it is
    if query is not None and query != document.text:
        raise DocumentRefused(
            f"The query sent differs from the trusted document {_shown(document_id)}: send the id "
            "alone, or the document's exact text.",
            BAD_REQUEST,
        )
    return document


def resolve(params: Mapping[str, Any], user) -> str | None:
    """The query text to run for one operation's request parameters (the GraphQL-over-HTTP
    body or GET parameters, or a graphql-transport-ws ``subscribe`` payload: ``query``,
    ``operationName``, ``variables``, ``extensions``, ``documentId``).

    A trusted document named by ``documentId`` or by ``extensions.persistedQuery.sha256Hash``
    gives its text; with neither, ``params['query']`` (None if absent). Raises
    :class:`DocumentRefused`: an unknown id sent without a query ``PERSISTED_QUERY_NOT_FOUND``;
    an id with a different query text, or malformed ids, ``BAD_REQUEST``; a document that is
    not trusted, from a caller ``GRAPHQL_TRUSTED_DOCUMENTS_ONLY`` restricts,
    ``TRUSTED_DOCUMENT_REQUIRED``.
    """
    query = params.get("query")
    if query is not None and not isinstance(query, str):
        raise DocumentRefused("The operation's 'query' must be a string.", BAD_REQUEST)
    trusted = registry()
    named = _named_document(trusted, params, query)
    if named is not None:
        return named.text
    if query is None or query in trusted.by_text:
        return query
    if trusted.restricts(user):
        raise DocumentRefused(
            "Only trusted documents are accepted from this caller: send the 'documentId' of an "
            "operation in the deployed client manifests (docs/trusted-documents.md).",
            TRUSTED_DOCUMENT_REQUIRED,
        )
    return query


def parsed(query: str | None) -> DocumentNode | None:
    """The pre-parsed document of a trusted text (None for any other text)."""
    return registry().parsed(query) if query else None


# Texts sent that parsed and validated, with their documents: at most this many, the oldest
# dropped first, so that ever new texts cannot grow it without bound. Only documents that
# passed validation are kept; validation depends on the schema alone (the rules an operation
# adds for its caller, such as the introspection policy, run again every time).
VALIDATED_TEXTS = 512
_validated: dict[tuple, DocumentNode] = {}
_remembering = threading.Lock()  # requests run on several threads (WebSocket workers)


def _remember(key: tuple, document: DocumentNode) -> None:
    with _remembering:
        while _validated and len(_validated) >= VALIDATED_TEXTS:
            del _validated[next(iter(_validated))]
        _validated[key] = document


class TrustedDocuments(SchemaExtension):
    """Runs a trusted document from its pre-parsed, pre-validated form: parsing is skipped,
    and validation keeps only the rules the operation adds to the standard ones (e.g. the
    introspection policy, depth and alias limits). Every other extension still runs; the
    shared document must never be changed in place (graphql-core's ``visit`` copies)."""

    trusted = False
    key = None  # of a text sent, to remember its document by if it validates

    def on_parse(self):
        context = self.execution_context
        document = parsed(context.query)
        if document is None and context.query:
            self.key = (context.query, tuple(sorted(context.parse_options.items())))
            document = _validated.get(self.key)
        if document is not None and context.graphql_document is None:
            context.graphql_document = document
            self.trusted = True
        yield

    def on_validate(self):
        context = self.execution_context
        if self.trusted and context.pre_execution_errors is None:
            added = [rule for rule in context.validation_rules if rule not in specified_rules]
            context.pre_execution_errors = (
                validate(context.schema._schema, context.graphql_document, added) if added else []
            )
        yield
        if not self.trusted and self.key is not None and context.pre_execution_errors == []:
            _remember(self.key, context.graphql_document)
