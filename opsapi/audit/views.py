"""Downloading the audit trail over HTTP (auditors only)."""

from django.http import StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from opsapi.accounts.access import roles_of
from opsapi.accounts.authentication import FORBIDDEN, authenticate_request
from opsapi.audit import export
from opsapi.audit.models import AuditAccess
from opsapi.graphql.errors import BAD_USER_INPUT, error_response

CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


@csrf_exempt  # GET only; authenticate_request checks the token or the session
@require_GET
@never_cache
def export_view(request):
    """``/audit/export/?since=…&until=…&format=jsonl|csv&model=…``: the same export as
    ``manage.py export_audit``, streamed."""
    rejected = authenticate_request(request)
    if rejected is not None:
        return rejected
    if not roles_of(request.user).auditor:
        return error_response("Only auditors may export the audit trail.", FORBIDDEN, 403)
    fmt = request.GET.get("format", "jsonl")
    if fmt not in export.FORMATS:
        return error_response("format must be jsonl or csv.", BAD_USER_INPUT, 400)
    since, until = request.GET.get("since"), request.GET.get("until")
    models = request.GET.getlist("model")
    try:
        flt = export.export_filter(since=since, until=until, models=models)
    except export.ExportError as error:
        return error_response(str(error), BAD_USER_INPUT, 400)
    AuditAccess.record(
        user=request.user,
        operation="export",
        target=f"{since or '-'}..{until or '-'}",
        arguments={"since": since, "until": until, "format": fmt, "model": models},
    )
    response = StreamingHttpResponse(export.lines(flt, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="audit-trail.{fmt}"'
    return response
