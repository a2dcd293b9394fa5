"""The `wardcare` command: serve, migrate, demo."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
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
MllpOpt = Annotated[
    int | None, typer.Option("--mllp-port", help="HL7 v2 MLLP port [WARDCARE_MLLP_PORT]")
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
    host: HostOpt = None,
    http_port: PortOpt = None,
    database: DbOpt = None,
    mllp_port: MllpOpt = None,
    dev: DevOpt = False,
) -> None:
    """Serve the FHIR API (and the ward UI) over HTTP, and HL7 v2 over MLLP."""
    _serve(
        _settings(
            host=host,
            http_port=http_port,
            database_url=database,
            mllp_port=mllp_port,
            dev_mode=dev or None,
        )
    )


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


@app.command()
def handover(
    ward: Annotated[str, typer.Option("--ward", help="Ward code, e.g. WARD7")],
    output: Annotated[str, typer.Option("-o", "--output", help="Where to write the PDF")],
    shift: Annotated[str | None, typer.Option("--shift", help="Shift name for the header")] = None,
    printed_by: Annotated[
        str | None, typer.Option("--printed-by", help="Name printed as 'printed by'")
    ] = None,
    database: DbOpt = None,
) -> None:
    """Print a ward's handover sheet to a PDF file (kept as a DocumentReference too)."""
    import getpass
    from pathlib import Path

    from wardcare.bootstrap import build_context
    from wardcare.domain.actor import Actor, ActorKind
    from wardcare.errors import WardCareError
    from wardcare.fhir.outcomes import status_for
    from wardcare.services import audit
    from wardcare.services.ward_handover import print_ward_sheet

    # The command line works with the database's own credentials (like `migrate`): whoever can
    # run it can read the whole record already, so it acts with user/ scopes. Its print is
    # audited like one over HTTP (an export naming the DocumentReference kept).
    actor = Actor(
        kind=ActorKind.USER,
        display=printed_by or f"{getpass.getuser()} (wardcare command line)",
        scopes=frozenset({"user/*.cruds"}),
    )
    context = build_context(_settings(database_url=database))
    trail = audit.AuditTrail(context)
    note, token = audit.begin_note()
    status = 500
    try:
        printed = print_ward_sheet(context, actor=actor, ward_code=ward, shift=shift)
        status = 200
    except WardCareError as exc:
        status = status_for(exc)
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    finally:
        audit.end_note(token)
        command = f"wardcare handover --ward {ward}"
        trail.record(audit.Access("operation", status, actor, query=command), note)
        trail.close()
        context.uow.engine.dispose()
    Path(output).write_bytes(printed.pdf)
    console.print(
        f"{output}: {printed.pages} pages; kept as DocumentReference/{printed.stored.document.id}"
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
    console.print(f"HL7 v2 over MLLP:   [bold]{settings.host}:{settings.mllp_port}[/bold]")
    if settings.dev_mode:
        console.print(
            f"[yellow]DEV ONLY[/yellow] demo login: {base}/launch/standalone  "
            f"test EHR launch: {base}/dev-ehr/launch?patient=<id>  "
            "tokens: wardcare token --dev --user nurse"
        )
    # No access log: every request is audited by WardCare itself, and formatting a log line per
    # request costs throughput.
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )
    from wardcare.hl7v2.mllp_sender import OutboundSender

    for destination in settings.hl7_destinations:
        console.print(
            f"HL7 v2 outbound:    {destination.name} at {destination.host}:{destination.port} "
            f"({', '.join(destination.message_types)})"
        )
    # uvicorn re-raises the SIGTERM it handled once it has shut down; exiting through SystemExit
    # instead lets the outbound sender finish its attempt in progress and stop cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # Results back to the EHR: the outbox sender runs beside the servers and stops with them.
    with OutboundSender(context):
        _run_event_loop(_serve_http_and_mllp(uvicorn.Server(config), context, settings))


def _run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    # uvloop where it is installed (uvicorn[standard] brings it), as uvicorn.run would choose:
    # HTTP and MLLP share a loop started here. Measured: ~3 % less server CPU per create.
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


async def _serve_http_and_mllp(server: uvicorn.Server, context: Any, settings: Settings) -> None:
    """HTTP and the MLLP listener in one process and one event loop (issue 5)."""
    from wardcare.hl7v2.inbound_handler import InboundHandler
    from wardcare.hl7v2.mllp_listener import MllpListener

    listener = MllpListener(
        InboundHandler(context),
        host=settings.host,
        port=settings.mllp_port,
        max_frame_size=settings.mllp_max_frame_bytes,
        idle_timeout=settings.mllp_idle_timeout_seconds,
    )
    await listener.start()
    try:
        await server.serve()
    finally:
        await listener.close()


hl7_app = typer.Typer(help="HL7 v2: send messages over MLLP, import message files.")
app.add_typer(hl7_app, name="hl7")


@hl7_app.command("send")
def hl7_send(
    files: Annotated[list[Path], typer.Argument(help="HL7 v2 message files (one or more each)")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 2575,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait per ACK")] = 30.0,
) -> None:
    """Send each message over MLLP and print the ACK it gets back."""
    import socket

    from wardcare.hl7v2.message_files import split_messages
    from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame

    with socket.create_connection((host, port), timeout=timeout) as conn:
        decoder = MllpFrameDecoder()
        for path in files:
            for message in split_messages(path.read_bytes()):
                conn.sendall(encode_frame(message))
                frames: list[Any] = []
                while not frames:
                    data = conn.recv(65536)
                    if not data:
                        console.print("[red]The server closed the connection[/red]")
                        raise typer.Exit(1)
                    frames = decoder.feed(data)
                for frame in frames:
                    console.print(frame.payload.decode("utf-8", "replace").replace("\r", "\n"))


@hl7_app.command("import")
def hl7_import(
    file: Annotated[Path, typer.Argument(help="A batch file (FHS/BHS) or many messages")],
    database: DbOpt = None,
) -> None:
    """Apply every message in a file as if it had arrived over MLLP; print a summary."""
    from collections import Counter

    from wardcare.bootstrap import build_context
    from wardcare.hl7v2.inbound_handler import InboundHandler
    from wardcare.hl7v2.message_files import split_messages

    context = build_context(_settings(database_url=database))
    handler = InboundHandler(context)
    messages = split_messages(file.read_bytes())
    outcomes: Counter[str] = Counter()
    with Progress(console=console) as progress:
        task = progress.add_task(f"Importing {file.name}", total=len(messages))
        for index, message in enumerate(messages, 1):
            for ack in handler.handle(message):
                fields = ack.split(b"\r")[1].split(b"|")
                outcomes[fields[1].decode()] += 1
                if fields[1] not in (b"AA", b"CA"):
                    console.print(f"message {index}: {ack.decode().replace(chr(13), ' | ')}")
            progress.advance(task)
    context.uow.engine.dispose()
    console.print("  ".join(f"{code}: {n}" for code, n in sorted(outcomes.items())))
