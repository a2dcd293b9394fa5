"""The `wardcare` command: serve, migrate, demo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.progress import Progress

from wardcare.config import Settings

app = typer.Typer(
    help="WardCare: nursing documentation and care planning (FHIR R4).", no_args_is_help=True
)
console = Console()

HostOpt = Annotated[str | None, typer.Option("--host", help="Address to listen on [WARDCARE_HOST]")]
PortOpt = Annotated[int | None, typer.Option("--http-port", help="HTTP port [WARDCARE_HTTP_PORT]")]
DbOpt = Annotated[
    str | None, typer.Option("--database", help="Database URL [WARDCARE_DATABASE_URL]")
]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@app.command()
def migrate(database: DbOpt = None) -> None:
    """Create or upgrade the database schema."""
    from wardcare.storage.database import make_engine
    from wardcare.storage.migrate import upgrade

    settings = _settings(database_url=database)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    console.print(f"[green]Database is at the current schema:[/green] {settings.database_url}")


DevOpt = Annotated[
    bool,
    typer.Option("--dev", help="DEV ONLY: run the demo authorisation server [WARDCARE_DEV_MODE]"),
]


@app.command()
def serve(
    host: HostOpt = None, http_port: PortOpt = None, database: DbOpt = None, dev: DevOpt = False
) -> None:
    """Serve the FHIR API (and the ward UI) over HTTP."""
    _serve(_settings(host=host, http_port=http_port, database_url=database, dev_mode=dev or None))


@app.command()
def token(
    user: Annotated[str, typer.Option("--user", help="nurse, nic, ward-manager, privacy-officer")],
    scope: Annotated[str, typer.Option("--scope", help='e.g. "user/*.cruds"')] = "user/*.cruds",
    patient: Annotated[str | None, typer.Option("--patient", help="patient in context")] = None,
    encounter: Annotated[str | None, typer.Option("--encounter")] = None,
    lifetime: Annotated[int, typer.Option("--lifetime", help="seconds")] = 3600,
    dev: DevOpt = False,
) -> None:
    """DEV ONLY: print an access token from the demo authorisation server, for scripts."""
    from wardcare.devauth import DevModeRequired, users
    from wardcare.devauth.authorization_server import DevAuthorizationServer

    try:
        server = DevAuthorizationServer(_settings(dev_mode=dev or None))
        demo_user = users.user(user)
    except (DevModeRequired, KeyError) as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(1) from exc
    print(
        server.mint(
            user=demo_user,
            scope=scope,
            patient=patient,
            encounter=encounter,
            lifetime=lifetime,
        )
    )


@app.command()
def demo(
    host: HostOpt = None,
    http_port: PortOpt = None,
    database: DbOpt = None,
    load_only: Annotated[bool, typer.Option("--load-only", help="Stop after loading")] = False,
) -> None:
    """Migrate, load a synthetic hospital if the database is empty, and serve."""
    from wardcare.bootstrap import build_context
    from wardcare.demo.loader import hospital_is_loaded, load_hospital
    from wardcare.demo.synthetic_hospital import HospitalSpec, build_hospital

    # The demo runs WardCare's DEV ONLY authorisation server, so a newcomer can launch it.
    settings = _settings(host=host, http_port=http_port, database_url=database, dev_mode=True)
    migrate(settings.database_url)
    context = build_context(settings)
    if hospital_is_loaded(context):
        console.print("Demo hospital already loaded.")
    else:
        hospital = build_hospital(HospitalSpec(), now=datetime.now(UTC))
        with Progress(console=console) as progress:
            task = progress.add_task(
                "Loading the synthetic hospital", total=hospital.resource_count()
            )
            load_hospital(context, hospital, progress=lambda n: progress.advance(task, n))
    from wardcare.devauth import users

    for demo_user in users.USERS.values():  # who the demo login offers, as Practitioners
        users.ensure_practitioner(context, demo_user)
    context.uow.engine.dispose()
    if not load_only:
        _serve(settings)


templates_app = typer.Typer(help="Assessment and care-plan templates in care_templates/.")
app.add_typer(templates_app, name="templates")


@templates_app.command("check")
def templates_check() -> None:
    """Validate every template and run its worked examples; exit 1 on any problem."""
    from wardcare import paths
    from wardcare.catalog.catalog import TemplateError, check_examples, load_catalog

    try:
        catalog = load_catalog(paths.CARE_TEMPLATES)
    except TemplateError as exc:
        console.print(f"[red]Template error:[/red] {exc}")
        raise typer.Exit(1) from exc
    failures = [f for loaded in catalog.all() for f in check_examples(loaded)]
    for loaded in sorted(catalog.all(), key=lambda t: (t.template.id, t.template.version)):
        t = loaded.template
        console.print(
            f"  {t.id} {t.version}: {t.title} ({len(t.items)} items, {len(t.examples)} examples)"
        )
    if failures:
        for failure in failures:
            console.print(f"[red]Example failed:[/red] {failure}")
        raise typer.Exit(1)
    console.print(
        f"[green]{len(catalog.all())} templates valid; every worked example passes.[/green]"
    )


def _serve(settings: Settings) -> None:
    from wardcare.api.app import create_app
    from wardcare.api.security_tokens import SecurityNotConfigured
    from wardcare.bootstrap import build_context

    context = build_context(settings)
    try:
        application = create_app(context)
    except SecurityNotConfigured as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    base = f"http://{settings.host}:{settings.http_port}"
    console.print(f"WardCare FHIR API:  [bold]{base}/fhir[/bold]  (metadata: {base}/fhir/metadata)")
    console.print(f"API documentation:  {base}/docs")
    if settings.dev_mode:
        console.print(
            f"[yellow]DEV ONLY[/yellow] demo login: {base}/launch/standalone  "
            f"test EHR launch: {base}/dev-ehr/launch?patient=<id>  "
            "tokens: wardcare token --dev --user nurse"
        )
    # No access log: every request is audited by WardCare itself, and formatting a log line per
    # request costs throughput.
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )
