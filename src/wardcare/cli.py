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
    care_record: Annotated[
        bool,
        typer.Option(
            "--care-record/--no-care-record",
            help="Load the ward's care record too (assessments, care plans, documented care)",
        ),
    ] = True,
) -> None:
    """Migrate, load a synthetic hospital if the database is empty, and serve."""
    from wardcare.bootstrap import build_context
    from wardcare.demo.loader import load_demo

    # The demo runs WardCare's DEV ONLY authorisation server, so a newcomer can launch it.
    settings = _settings(host=host, http_port=http_port, database_url=database, dev_mode=True)
    migrate(settings.database_url)
    context = build_context(settings)
    with Progress(console=console) as progress:
        bars: dict[str, Any] = {}
        titles = {
            "hospital": "Loading the synthetic hospital",
            "care": "Replaying the ward's care record",
        }

        def advance(what: str, total: int, n: int) -> None:
            if what not in bars:
                bars[what] = progress.add_task(titles[what], total=total)
            progress.advance(bars[what], n)

        loaded = load_demo(
            context, now=datetime.now(UTC), care_record=care_record, progress=advance
        )
    if loaded is None:
        console.print("Demo hospital already loaded.")
    elif loaded.care_record is not None:
        t = loaded.care_record
        console.print(
            f"Care record: {t.assessments} assessments, {t.plans_adopted} care plans adopted, "
            f"{t.documented} interventions documented ({t.not_done} not done), "
            f"{t.escalations_open} escalations open, {t.escalations_completed} answered."
        )
    from wardcare.devauth import users

    for demo_user in users.USERS.values():  # who the demo login offers, as Practitioners
        users.ensure_practitioner(context, demo_user)
    context.uow.engine.dispose()
    if not load_only:
        _serve(settings)


templates_app = typer.Typer(help="Assessment and care-plan templates in care_templates/.")
app.add_typer(templates_app, name="templates")


@templates_app.command("check")
def templates_check(
    templates: Annotated[
        Path | None,
        typer.Option(
            "--templates",
            help="A folder holding assessments/ (and care_plans/) to check, such as a trust's "
            "own; the shipped care_templates/ by default",
        ),
    ] = None,
) -> None:
    """Validate every template and run its worked examples; exit 1 on any problem."""
    from wardcare import paths
    from wardcare.catalog.catalog import TemplateError, check_examples, load_catalog

    try:
        # Examples are run below, so every failing one is listed rather than only the first.
        catalog = load_catalog(templates or paths.CARE_TEMPLATES, run_examples=False)
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


_NOT_APPLIED = ("AE", "AR", "CE", "CR")


def _ack_code(ack: bytes) -> tuple[str, str]:
    """MSA-1 and MSA-2 of an acknowledgement (empty when it has no MSA)."""
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA"):
            fields = segment.decode("utf-8", "replace").split(segment.decode()[3:4] or "|")
            return (fields[1] if len(fields) > 1 else "", fields[2] if len(fields) > 2 else "")
    return "", ""


def _awaited(message: bytes) -> tuple[str | None, str]:
    """The message's MSH-10 and which ACK ends the wait for it: `app` (an AA/AE/AR, or a
    CR/CE), `commit` (any of CA/CR/CE) or `none` (nothing is sure to come). HL7 v2.5.1
    2.9.2-2.9.3: original mode answers once; in enhanced mode MSH-15/16 (table 0155) say."""
    from wardcare.hl7v2.message_parsing import ParseProblem, parse

    try:
        header = parse(message).header()
    except ParseProblem:
        return None, "app"
    if not header.enhanced_mode:
        return header.control_id, "app"
    if (header.application_ack_type.upper() or "AL") == "AL":
        return header.control_id, "app"
    if (header.accept_ack_type.upper() or "AL") == "AL":
        return header.control_id, "commit"
    return header.control_id, "none"


@hl7_app.command("send")
def hl7_send(
    files: Annotated[list[Path], typer.Argument(help="HL7 v2 message files (one or more each)")],
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 2575,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait per ACK")] = 30.0,
) -> None:
    """Send each message over MLLP and print each ACK exactly as it comes back (segments on
    their own lines). Exit status 1 when any ACK is AE, AR, CE or CR."""
    import socket

    from wardcare.hl7v2.message_files import split_messages
    from wardcare.hl7v2.mllp_framing import MllpFrameDecoder, encode_frame

    codes: list[str] = []
    sent: set[str] = set()

    def show(ack: bytes) -> tuple[str, str]:
        code, control_id = _ack_code(ack)
        codes.append(code)
        typer.echo(ack.decode("utf-8", "replace").replace("\r", "\n"))
        return code, control_id

    with socket.create_connection((host, port), timeout=timeout) as conn:
        decoder = MllpFrameDecoder()
        for path in files:
            for message in split_messages(path.read_bytes()):
                control_id, wait_for = _awaited(message)
                conn.sendall(encode_frame(message))
                done = wait_for == "none"
                while not done:
                    data = conn.recv(65536)
                    if not data:
                        typer.echo("The server closed the connection", err=True)
                        raise typer.Exit(1)
                    for frame in decoder.feed(data):
                        code, answers = show(frame.payload)
                        if answers in sent and answers != control_id:
                            continue  # a late ACK for an earlier message
                        done = done or wait_for == "commit" or code not in ("CA", "")
                if control_id:
                    sent.add(control_id)
        # ACKs sent only on a condition (MSH-15/16 ER or SU) may still come: the listener
        # answers every frame it read before it sees the end of the stream.
        conn.shutdown(socket.SHUT_WR)
        while data := conn.recv(65536):
            for frame in decoder.feed(data):
                show(frame.payload)
    if any(code in _NOT_APPLIED for code in codes):
        raise typer.Exit(1)


@hl7_app.command("import")
def hl7_import(
    file: Annotated[Path, typer.Argument(help="A batch file (FHS/BHS) or many messages")],
    database: DbOpt = None,
) -> None:
    """Apply every message in a file as if it had arrived over MLLP. Prints one line per
    message (number, MSH-10, type, ACK codes, outcome, error) and a summary; exit status 1
    when any message was not applied."""
    from collections import Counter

    from wardcare.bootstrap import build_context
    from wardcare.hl7v2.inbound_handler import InboundHandler
    from wardcare.hl7v2.message_files import split_messages
    from wardcare.hl7v2.message_parsing import ParseProblem, parse
    from wardcare.services import hl7_inbound
    from wardcare.storage.hl7_message_log import ACCEPTED, LogFilter

    context = build_context(_settings(database_url=database))
    handler = InboundHandler(context)
    reader = hl7_inbound.interface_actor("WARDCARE", "import")
    messages = split_messages(file.read_bytes())
    outcomes: Counter[str] = Counter()
    not_applied = 0
    try:
        for index, message in enumerate(messages, 1):
            acks = handler.handle(message)
            codes = [_ack_code(ack)[0] for ack in acks]
            outcomes.update(codes)
            try:
                header = parse(message).header()
                control_id, kind = header.control_id, header.message_type
            except ParseProblem:
                control_id, kind = "", "?"
            status, error = ("rejected", "the message header cannot be read")
            if control_id:
                found, _ = hl7_inbound.list_messages(
                    context,
                    actor=reader,
                    where=LogFilter(
                        control_id=control_id, sending_application=header.sending_application
                    ),
                )
                logged = next(
                    (m for m in found if m.sending_facility == header.sending_facility), None
                )
                if logged is not None:
                    status, error = logged.status, logged.error or ""
            if status != ACCEPTED:
                not_applied += 1
            typer.echo(
                f"{index}\t{control_id or '-'}\t{kind}\t{'/'.join(codes) or '-'}\t{status}"
                + (f"\t{error}" if error and status != ACCEPTED else "")
            )
    finally:
        context.uow.engine.dispose()
    typer.echo("  ".join(f"{code}: {n}" for code, n in sorted(outcomes.items())))
    typer.echo(f"applied: {len(messages) - not_applied} of {len(messages)}")
    if not_applied:
        raise typer.Exit(1)
