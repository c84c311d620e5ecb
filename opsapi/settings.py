"""Settings for OPS API, read from the environment.

Production is the default: DEBUG is off unless ``DEBUG`` is set, and the service refuses to
start without a real ``SECRET_KEY``. With no ``DATABASE_URL`` it runs on an embedded SQLite file
so that a first run works anywhere; production sets ``DATABASE_URL`` to PostgreSQL.
"""

import datetime
import hashlib
import hmac
import os
import tempfile
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not DEBUG and (len(SECRET_KEY) < 32 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 32 characters when DEBUG is "
        "off (generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )
if not SECRET_KEY:
    # Development only (DEBUG on): a key per process, so nothing predictable is ever used.
    from django.core.management.utils import get_random_secret_key

    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Before simple_history: its history-deleting commands are replaced by refusals here.
    "opsapi.audit",
    "simple_history",
    "strawberry_django",
    "opsapi.accounts",
    "partners",
    "coordination",
    "axes",  # login throttling (the "Login throttling" block below)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the "Static files" block below), answered before anything else runs.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "opsapi.middleware.RequestIdMiddleware",
    "opsapi.middleware.OutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lockout into the "account locked" page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opsapi.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "opsapi" / "templates"],  # the landing page, docs and GraphiQL
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "opsapi.wsgi.application"
ASGI_APPLICATION = "opsapi.asgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts (no read-then-write upgrade deadlocks) and
    # wait for a concurrent writer instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
    # Tests use a file too (one per test process): an in-memory shared-cache database fails
    # concurrent writers with "table is locked" instead of making them wait as a file does.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(tempfile.gettempdir()) / f"opsapi-test-{os.getpid()}.sqlite3")
    )
else:
    # Under ASGI (uvicorn, as served) Django runs each sync request in a pool thread, and a
    # persistent connection stays with its thread: measured by `make bench`, one server at 8
    # requests in flight held 62 connections with 60 s, 10 with 0. Close after each request
    # unless told otherwise; pool with PgBouncer (docs/production.md).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
    # A pool of connections per server process (psycopg_pool, through Django's own support):
    # each request borrows one and gives it back, so connections are reused without staying
    # with a thread. DATABASE_POOL_SIZE is the most a process opens; 0 (the default) connects
    # per request as above. Waiting for a free connection is bounded by the connect timeout.
    if pool_size := env.int("DATABASE_POOL_SIZE", default=0):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django requires it with a pool
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": pool_size,
            "timeout": DATABASES["default"]["OPTIONS"]["connect_timeout"],
        }
    # Milliseconds a statement may run, lock waits included, before PostgreSQL cancels it and
    # the request is answered SERVICE_UNAVAILABLE instead of hanging. 0 (the default): no limit,
    # as migrations and audit checks on a large trail may need; web processes should set one.
    if statement_timeout := env.int("DATABASE_STATEMENT_TIMEOUT", default=0):
        DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={statement_timeout}"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
# `collectstatic` gathers the admin's files and the project's own (opsapi/static/: GraphiQL's,
# vendored from npm, and the pages' icon) into STATIC_ROOT, compressed; the application serves
# them itself with WhiteNoise, so a deployment needs neither a CDN nor a proxy rule
# (docs/production.md §4). With DEBUG on they are served from their sources, uncollected.
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "opsapi" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# GraphiQL's files carry their package's version in their path: browsers may keep them for good.
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/static/graphiql/.+@[0-9][^/]*/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"  # the landing page (opsapi.pages)

# --- Login throttling (django-axes) ------------------------------------------------------------
# Password logins (the admin's and /login/) are counted per username and client address: after
# LOGIN_FAILURE_LIMIT failures in a row that pair is locked out for LOGIN_COOLOFF_MINUTES, even
# with the right password, and is shown opsapi.views.login_locked_out. A success clears the
# count. Locking the pair (not the username alone) keeps a stranger from locking a colleague
# out. An administrator unlocks early: `manage.py axes_reset_username <username>` (or
# axes_reset for everyone), or by deleting the access attempt in the admin. The API itself
# takes no passwords (sessions or bearer tokens), so it is not throttled here.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "opsapi.views.login_locked_out"

# Live updates (GraphQL subscriptions, docs in README): change events go through a channel layer,
# in-memory (one server process) unless REDIS_URL is set, when every server process shares them.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Fail fast when Redis is down: a publish is then logged and dropped, the write
                # that caused it has committed anyway.
                "hosts": [{"address": REDIS_URL, "socket_connect_timeout": 2}],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="opsapi"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Cache (rate-limit counters) -------------------------------------------------------------
# Local memory, one count per server process; with REDIS_URL, Redis, so that all processes
# count together.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="opsapi"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # One counter per active user and window: never cull them at Django's default 300.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# Most subscriptions one WebSocket connection may hold at once.
SUBSCRIPTIONS_PER_CONNECTION = env.int("SUBSCRIPTIONS_PER_CONNECTION", default=20)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OPS Center <ops-center@localhost>")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
# Seconds an SMTP connection may hang: a hung mail server must not hold an outbox row's lock.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# The escalation outbox (coordination.outbox, docs/escalation.md): attempts before an e-mail is
# given up, and the back-off between attempts (first wait in seconds, doubling, capped).
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=10)
NOTIFICATION_RETRY_FIRST = env.int("NOTIFICATION_RETRY_FIRST", default=60)
NOTIFICATION_RETRY_LONGEST = env.int("NOTIFICATION_RETRY_LONGEST", default=3600)

# History: change reasons are free text (an audit answer, not a label), history ids are 64-bit.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_DATE_INDEX = False  # composite indexes instead (opsapi.audit.tracking)

# Key of the history records' HMAC chain (docs/audit.md). Keep it outside the database: it seals
# every new record, and each record names its key by id. Derived from SECRET_KEY unless set.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")
AUDIT_CHAIN_KEY_FROM_SECRET_KEY = not AUDIT_CHAIN_KEY  # `check --deploy` warns (audit.W001)
if AUDIT_CHAIN_KEY_FROM_SECRET_KEY:
    AUDIT_CHAIN_KEY = hmac.new(
        SECRET_KEY.encode(), b"opsapi audit chain", hashlib.sha256
    ).hexdigest()
# Chain keys rotated out (`manage.py audit_rotate_chain_key`), comma-separated, oldest first:
# kept to verify the records they sealed, never to seal. Records sealed before records named
# their key are verified with the oldest configured key (the first here, or AUDIT_CHAIN_KEY).
AUDIT_CHAIN_RETIRED_KEYS = env.list("AUDIT_CHAIN_RETIRED_KEYS", default=[])

# Ed25519 key signing the audit checkpoints (base64 of the raw private key, or PEM); none: the
# checkpoints are sealed with the chain key only. docs/audit.md §10; `manage.py audit_keygen`.
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="", multiline=True)

STRAWBERRY_DJANGO = {
    "FIELD_DESCRIPTION_FROM_HELP_TEXT": True,
    "TYPE_DESCRIPTION_FROM_MODEL_DOCSTRING": True,
    "MUTATIONS_DEFAULT_HANDLE_ERRORS": True,
    "MAP_AUTO_ID_AS_GLOBAL_ID": True,
    "PAGINATION_DEFAULT_LIMIT": 50,
    "PAGINATION_MAX_LIMIT": 100,
}

# API pages: the default and the cap for `first`/`last` on every connection.
GRAPHQL_PAGE_SIZE = 50
GRAPHQL_MAX_PAGE_SIZE = 100

# What one GraphQL operation may ask for (opsapi.graphql.limits): nesting depth, aliases,
# tokens in the document, and cost — the most objects its connections could return.
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=15)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=30)
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=3000)
GRAPHQL_MAX_QUERY_COST = env.int("GRAPHQL_MAX_QUERY_COST", default=25_000)
# List arguments: IDs one `nodes(ids:)` may name, and items any other list argument (filters'
# `inList`, orderings, input lists) may hold. Both count toward the cost as well.
GRAPHQL_MAX_NODE_IDS = env.int("GRAPHQL_MAX_NODE_IDS", default=100)
GRAPHQL_MAX_LIST_ITEMS = env.int("GRAPHQL_MAX_LIST_ITEMS", default=1000)
# Pairs of same-named fields and of side-by-side fragments validation may have to compare
# (graphql-core's OverlappingFieldsCanBeMerged rule is quadratic in them).
GRAPHQL_MAX_MERGE_CHECKS = env.int("GRAPHQL_MAX_MERGE_CHECKS", default=2000)
# Seconds one query or mutation may run, over any transport, before it is stopped and answered
# DEADLINE_EXCEEDED (opsapi.graphql.deadline); a running SQL statement is cancelled.
GRAPHQL_DEADLINE_SECONDS = env.float("GRAPHQL_DEADLINE_SECONDS", default=10.0)
# Trusted documents (persisted operations, opsapi.graphql.trusted): manifests loaded at start
# (paths, comma-separated), and who may send only those: "" (anyone may send any document),
# "all", or role names (e.g. "partner_user").
GRAPHQL_TRUSTED_DOCUMENTS = env.list("GRAPHQL_TRUSTED_DOCUMENTS", default=[])
GRAPHQL_TRUSTED_DOCUMENTS_ONLY = env.list("GRAPHQL_TRUSTED_DOCUMENTS_ONLY", default=[])
# List queries made only of model fields and relations are answered straight from SQL rows
# (opsapi.graphql.compiled); 0 executes every query field by field.
GRAPHQL_COMPILED_READS = env.bool("GRAPHQL_COMPILED_READS", default=True)

# --- GraphQL at the HTTP edge (opsapi.views, opsapi.ratelimit) --------------------------------
# Requests per user per window on /graphql/ ("600/m"; units s, m, h, d; empty: no limit);
# over it, 429 RATE_LIMITED with Retry-After.
GRAPHQL_RATE_LIMIT = env.str("GRAPHQL_RATE_LIMIT", default="600/m")
# Failed authentications (a bad API token, over HTTP or WebSocket) per client address per
# window; past it, that address's token attempts are refused with 429 before any lookup.
AUTH_FAILURE_RATE_LIMIT = env.str("AUTH_FAILURE_RATE_LIMIT", default="30/m")
# Introspection (and so GraphiQL's schema explorer) for authenticated callers; off refuses
# __schema/__type queries. "Did you mean ...?" suggestions are shown only when DEBUG is on.
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "opsapi.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The API logs each refused request itself, once, with its error code
    # (opsapi.graphql.errors); Django's own "Bad Request: /graphql/" line is left for 5xx.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# --- Production behind a TLS proxy (docs/production.md) ---------------------------------------
# `manage.py check --deploy` passes with the environment documented there. HTTPS_ONLY=1 turns on
# everything a site served only over HTTPS wants: secure session and CSRF cookies, a redirect
# from http:// to https://, and HSTS (a year by default; HSTS_SECONDS to change it — start low
# on a first deployment, browsers remember it). Off by default, so that `make run` works on
# plain http://127.0.0.1. /healthz stays reachable over plain HTTP for the proxy's probes.
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=False)
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
# The proxy terminates TLS and tells us with X-Forwarded-Proto. Trust that header only when
# the proxy sets it on every request (and strips a client's own): a client could otherwise
# claim HTTPS over plain HTTP.
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
