"""Settings: one typed model, loaded from ``config.yaml`` with ``KISYNC_…`` overrides.

Every setting has a default and a description; the README's configuration
reference is generated from them (``kisync config reference``) and a test
fails when one is missing there (STYLE.md, convention 7).

Environment variables override the file: ``KISYNC_DATABASE_URL`` sets
``database.url``, ``KISYNC_FETCH_ALLOW_PRIVATE_NETWORKS`` sets
``fetch.allow_private_networks``: the section name, then the key, upper case.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from kisync.errors import ConfigError
from kisync.model import CentreId, HttpUrl
from kisync.normalize.classify import DEFAULT_RULES, ClassificationRules, CodeRule, FieldRule
from kisync.vocab import FieldOfAction, Kind

ENV_PREFIX = "KISYNC_"
# Environment variables that are not settings: secrets and test wiring.
ENV_NOT_SETTINGS = {"KISYNC_CONFIG", "KISYNC_ADMIN_TOKEN", "KISYNC_TEST_DATABASE_URL"}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def _parse_duration(value: Any) -> Any:
    """Seconds as a number, or a string like ``90s``, ``15m``, ``2h``, ``1d``."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration: use seconds or a number with s, m, h or d (e.g. 15m)")
        return float(match.group(1)) * _UNITS[match.group(2)]
    return value


Seconds = Annotated[float, BeforeValidator(_parse_duration), Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class NodeSettings(_Section):
    centre: CentreId = Field(
        default="ki-05315",
        description="This node's own centre id (`ki-<district key>`). Items of this origin arriving from "
        "elsewhere are dropped: only this node authors them.",
    )
    name: str = Field(default="Kommunales Integrationszentrum", description="Name of this node's centre, shown in feeds.")
    base_url: HttpUrl = Field(
        default="http://127.0.0.1:8080", description="Public base URL of this node, used for links in feeds."
    )
    contact_url: HttpUrl | None = Field(
        default=None,
        description="Operator contact named in the User-Agent of every fetch, so feed owners can reach you "
        "(default: `node.base_url`).",
    )


class DatabaseSettings(_Section):
    url: str = Field(
        default="sqlite:///data/kisync.db",
        description="SQLAlchemy URL: `sqlite:///PATH` (relative to the config file) or `postgresql://user@host/db`.",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value


class WebSettings(_Section):
    host: str = Field(default="127.0.0.1", description="Address the web server listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port the web server listens on.")


class FetchSettings(_Section):
    connect_timeout: Seconds = Field(default=10, description="Seconds to wait for a connection.")
    total_timeout: Seconds = Field(default=60, description="Seconds one fetch may take in all.")
    max_body_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Largest body accepted, after decompression (default 10 MiB)."
    )
    max_redirects: int = Field(default=5, ge=0, le=20, description="Redirects followed per fetch.")
    concurrency: int = Field(default=16, ge=1, le=512, description="Fetches running at once, in all.")
    per_host_concurrency: int = Field(default=2, ge=1, le=64, description="Fetches running at once against one host.")
    allow_private_networks: bool = Field(
        default=False,
        description="Allow sources on loopback, private, link-local and similar addresses. Off by default "
        "(SSRF guard); the bundled demo and the tests turn it on.",
    )
    file_root: str | None = Field(
        default=None,
        description="Directory (relative to the config file) below which sources may be local files; "
        "unset: no local file sources.",
    )


class SyncSettings(_Section):
    default_interval: Seconds = Field(default=3600, description="Interval for sources that set none (seconds or 15m, 1h).")
    min_interval: Seconds = Field(default=300, description="Lower bound for intervals and server hints.")
    max_backoff: Seconds = Field(default=86400, description="Upper bound of the back-off after failures.")
    tick: Seconds = Field(default=5, description="How often a worker looks for due sources.")
    lease: Seconds = Field(
        default=900,
        description="How long a worker's claim on a source lasts; a crashed worker's claims lapse after it.",
    )
    parse_processes: int | None = Field(
        default=None,
        ge=0,
        description="Worker processes that parse and normalize fetched feeds while the fetching goes on; "
        "empty: one per core (at most 4, none on one core); 0: a thread of the syncing process.",
    )
    max_deletion_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Largest share of a publisher's items one snapshot may delete; above it the source is put "
        "on hold for an operator (mass-deletion guard).",
    )


class TombstoneSettings(_Section):
    retention_days: int = Field(default=730, ge=1, description="Days a deletion (tombstone) is kept.")


class PrivacySettings(_Section):
    publish_contacts: bool = Field(
        default=False,
        description="Show personal contact data (names, personal e-mail, phone) in public outputs; "
        "the organisation is always shown.",
    )


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level.")
    format: Literal["auto", "json", "text"] = Field(
        default="auto", description="`json` (one object a line), `text`, or `auto`: text on a terminal, else json."
    )


class ClassificationSettings(_Section):
    """Keyword rules that classify RSS/Atom/JSON Feed entries (exchange items carry their own codes).

    Each list replaces the shipped German rules of its dimension; an unset
    one keeps them (``kisync/normalize/classify.py``).
    """

    fields_of_action: list[FieldRule] | None = Field(
        default=None,
        description="Rules `{value, keywords}` for fields of action; unset: the German defaults "
        "(Kita -> elementarbereich, Schule -> schule, Ausbildung/KAoA -> uebergang_schule_beruf).",
    )
    audience: list[CodeRule] | None = Field(default=None, description="Rules for audience codes; unset: the German defaults.")
    programmes: list[CodeRule] | None = Field(
        default=None, description="Rules for programme codes; unset: the defaults (Rucksack KiTa, Griffbereit, KOMM-AN, …)."
    )
    _rules: ClassificationRules | None = PrivateAttr(default=None)

    def rules(self) -> ClassificationRules:
        """The effective rules, compiled once."""
        if self._rules is None:
            self._rules = ClassificationRules(
                fields_of_action=DEFAULT_RULES.fields_of_action if self.fields_of_action is None else self.fields_of_action,
                audience=DEFAULT_RULES.audience if self.audience is None else self.audience,
                programmes=DEFAULT_RULES.programmes if self.programmes is None else self.programmes,
            )
        return self._rules


class SourceDefaults(_Section):
    kind: Kind | None = Field(default=None, description="Kind for items that state none.")
    fields_of_action: list[FieldOfAction] = Field(
        default_factory=list, description="Fields of action for items that state none."
    )


class SourceSettings(_Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._\-]{0,99}$")] = Field(description="Source id.")
    url: str = Field(description="https or http URL, or a file path below `fetch.file_root`.")
    format: Literal["auto", "exchange", "feed"] = Field(default="auto", description="Body format; auto sniffs it.")
    centre: CentreId | None = Field(default=None, description="Centre that publishes this source.")
    relay: bool = Field(default=False, description="Another node's merged feed: items of any origin accepted.")
    interval: Seconds | None = Field(default=None, description="Seconds between fetches (default: sync.default_interval).")
    defaults: SourceDefaults = Field(default_factory=SourceDefaults, description="Values for items lacking them.")
    enabled: bool = Field(
        default=True,
        description="Fetch this source. In config.yaml, `false` wins over `kisync sources enable`; set back to `true`, "
        "the source is fetched again unless an operator disabled it (`kisync sources disable`).",
    )

    @field_validator("url")
    @classmethod
    def _url_or_path(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", value) else ""
        if scheme and scheme not in ("http", "https", "file"):
            raise ValueError(f"scheme {scheme!r} not supported: use https, http or a file path")
        if scheme in ("http", "https") and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("URL has no host")
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _relay_or_centre(self) -> SourceSettings:
        # Only the origin may change an item: a direct source must say whose items it carries.
        if not self.relay and self.centre is None:
            raise ValueError("a source needs `centre` (or `relay: true` for another node's merged feed)")
        return self


class Settings(_Section):
    node: NodeSettings = Field(default_factory=NodeSettings, description="This node's identity.")
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="The store.")
    web: WebSettings = Field(default_factory=WebSettings, description="The web server.")
    fetch: FetchSettings = Field(default_factory=FetchSettings, description="Fetching sources.")
    sync: SyncSettings = Field(default_factory=SyncSettings, description="Scheduling and merging.")
    tombstones: TombstoneSettings = Field(default_factory=TombstoneSettings, description="Deletions.")
    privacy: PrivacySettings = Field(default_factory=PrivacySettings, description="Personal data.")
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logs.")
    classification: ClassificationSettings = Field(
        default_factory=ClassificationSettings, description="Classification of feed entries."
    )
    sources: list[SourceSettings] = Field(default_factory=list, description="The sources to fetch.")

    # Where the settings came from; not a setting.
    _source_file: Path | None = PrivateAttr(default=None)

    @property
    def source_file(self) -> Path | None:
        return self._source_file

    @model_validator(mode="after")
    def _unique_source_ids(self) -> Settings:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"source id {source.id!r} is used twice")
            seen.add(source.id)
        return self


# -- loading -------------------------------------------------------------------


def default_config_path() -> Path:
    return Path(os.environ.get("KISYNC_CONFIG", "config.yaml"))


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the YAML file (if any), apply environment overrides, validate.

    An explicitly named file must exist; the default ``config.yaml`` may be
    missing, and then only defaults and the environment count.
    """
    environ = os.environ if environ is None else environ
    explicit = path is not None or "KISYNC_CONFIG" in environ
    file = Path(path) if path is not None else Path(environ.get("KISYNC_CONFIG", "config.yaml"))
    raw: dict[str, Any] = {}
    if file.exists():
        raw = _read_yaml(file)
    elif explicit:
        raise ConfigError(f"{file}: configuration file not found")
    overrides = _env_overrides(environ)
    for dotted, value in overrides.items():
        _set_path(raw, dotted, value)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe(error, file if file.exists() else None, raw, overrides)) from None
    settings._source_file = file.resolve() if file.exists() else None
    return _resolve_paths(settings, file.resolve().parent if file.exists() else Path.cwd())


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{file}: cannot read: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of sections (node, database, sources, …)")
    return data


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    """Relative paths in the file mean: relative to the file, not to the working directory."""
    url = settings.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        settings.database.url = "sqlite:///" + str((base / url[len("sqlite:///") :]).resolve())
    if settings.fetch.file_root is not None:
        settings.fetch.file_root = str((base / settings.fetch.file_root).resolve())
    for source in settings.sources:
        if is_local_path(source.url) and not Path(source.url).is_absolute():
            source.url = str((base / source.url).resolve())
    return settings


def is_local_path(url: str) -> bool:
    """A source given as a file path rather than an http(s) URL."""
    return not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", url)


# -- environment ---------------------------------------------------------------


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in ENV_NOT_SETTINGS:
            continue
        dotted = _env_to_path(name[len(ENV_PREFIX) :])
        if dotted is None:
            known = [ENV_PREFIX + p.replace(".", "_").upper() for p in setting_paths()]
            hint = difflib.get_close_matches(name, known, n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            raise ConfigError(f"environment variable {name} is not a kisync setting{suggestion}")
        overrides[dotted] = _env_value(value)
    return overrides


def _env_to_path(suffix: str) -> str | None:
    for dotted in setting_paths():
        if dotted.replace(".", "_").upper() == suffix:
            return dotted
    return None


def _env_value(value: str) -> Any:
    # YAML scalars: "true", "8080", "1.5" become what they look like; lists
    # and mappings can be given in flow style ("[schule, elementarbereich]").
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _set_path(raw: dict[str, Any], dotted: str, value: Any) -> None:
    node = raw
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


# -- reference and messages ----------------------------------------------------


def _sections() -> dict[str, type[BaseModel]]:
    return {
        name: field.default_factory().__class__  # type: ignore[misc]
        for name, field in Settings.model_fields.items()
        if name != "sources"
    }


def setting_paths() -> list[str]:
    """Every scalar setting as a dotted path, e.g. ``fetch.max_body_bytes``."""
    return [f"{section}.{key}" for section, model in _sections().items() for key in model.model_fields]


def reference_markdown() -> str:
    """The configuration reference: every setting, its default and meaning."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for section, model in _sections().items():
        defaults = model()
        for key, info in model.model_fields.items():
            default = getattr(defaults, key)
            env = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
            lines.append(f"| `{section}.{key}` | `{default}` | {info.description} Environment: `{env}`. |")
    for key, info in SourceSettings.model_fields.items():
        default = "required" if info.is_required() else repr(info.get_default(call_default_factory=True))
        if key == "defaults":
            default = "{}"
        lines.append(f"| `sources[].{key}` | {default} | {info.description} |")
    for key, info in SourceDefaults.model_fields.items():
        lines.append(f"| `sources[].defaults.{key}` | none | {info.description} |")
    return "\n".join(lines)


def _describe(error: ValidationError, file: Path | None, raw: dict[str, Any], overrides: dict[str, Any]) -> str:
    where = str(file) if file else "configuration"
    problems = []
    for item in error.errors():
        loc = item["loc"]
        path = _format_loc(loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown setting" + _suggest(loc)
        elif item["type"] == "missing":
            message = "required setting is missing"
        origin = " (from the environment)" if ".".join(str(p) for p in loc) in overrides else ""
        problems.append(f"  {path}: {message}{origin}")
    noun = "problem" if len(problems) == 1 else "problems"
    return f"{where}: {len(problems)} {noun} in the configuration:\n" + "\n".join(problems)


def _format_loc(loc: tuple) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _suggest(loc: tuple) -> str:
    """The nearest valid key for a typo, looked up in the model that owns the key."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        inner = getattr(annotation, "__args__", (annotation,))
        candidates = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            return ""
        model = candidates[0]
    keys = list(model.model_fields)
    hint = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
    return f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(keys)})"
