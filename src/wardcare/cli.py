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


@app.command()
def serve(host: HostOpt = None, http_port: PortOpt = None, database: DbOpt = None) -> None:
    """Serve the FHIR API (and the ward UI) over HTTP."""
    _serve(_settings(host=host, http_port=http_port, database_url=database))


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

    settings = _settings(host=host, http_port=http_port, database_url=database)
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
    for plan in catalog.care_plans.all():
        p = plan.template
        console.print(
            f"  {p.id} {p.version}: {p.title} (care plan: {len(p.goals)} goals, "
            f"{len(p.interventions)} interventions)"
        )
    if failures:
        for failure in failures:
            console.print(f"[red]Example failed:[/red] {failure}")
        raise typer.Exit(1)
    console.print(
        f"[green]{len(catalog.all())} assessment and {len(catalog.care_plans.all())} care-plan "
        "templates valid; every trigger names a plan; every worked example passes.[/green]"
    )


def _serve(settings: Settings) -> None:
    from wardcare.api.app import create_app
    from wardcare.bootstrap import build_context

    context = build_context(settings)
    base = f"http://{settings.host}:{settings.http_port}"
    console.print(f"WardCare FHIR API:  [bold]{base}/fhir[/bold]  (metadata: {base}/fhir/metadata)")
    console.print(f"API documentation:  {base}/docs")
    # No access log: every request is audited by WardCare itself, and formatting a log line per
    # request costs throughput.
    uvicorn.run(
        create_app(context),
        host=settings.host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )
