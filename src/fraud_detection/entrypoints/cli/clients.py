"""`fraud clients`: API clients, their scopes and keys, in FRAUD_API_CLIENTS_FILE.

A key is shown once, when it is made; the file keeps only its SHA-256. A running API re-reads the file
within a second, so adding, rotating and revoking need no restart. For FRAUD_API_CLIENTS_SECRET, `--print`
writes to stdout the secret's current document with the change, and a new key to stderr, so
`fraud clients add x --print > clients.json` is the exact next secret value (`aws secretsmanager
put-secret-value --secret-string file://clients.json`).
"""

from __future__ import annotations

import fcntl
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fraud_detection.domain.clients import (
    NAME,
    ApiClient,
    ApiKey,
    ClientConfigError,
    ClientDirectory,
    Scope,
    key_digest,
    parse_clients,
)
from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.entrypoints.cli.context import print_table
from fraud_detection.entrypoints.cli.errors import fail, handles_user_errors
from fraud_detection.infrastructure.local.home import private_home

if TYPE_CHECKING:
    from fraud_detection.settings import Settings

app = typer.Typer(help="API clients: scopes, keys, rotation (FRAUD_API_CLIENTS_FILE).", no_args_is_help=True)

KEY_PREFIX = "fdk_"  # recognisable in logs and by secret scanners
ClientName = Annotated[str, typer.Argument(help="Client name: 1-63 of a-z 0-9 _ -.")]


def new_key() -> tuple[ApiKey, str]:
    """A 256-bit random key and its stored form."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return ApiKey(secrets.token_hex(4), key_digest(key)), key


def _settings() -> Settings:
    from fraud_detection.settings import Settings  # pydantic-settings: paid only by commands that run

    return Settings()


# What to do instead when the clients live in a secret: a change is printed, then stored by hand.
EDIT_THE_SECRET = "Run with --print and store the document with `aws secretsmanager put-secret-value`."
READ_THE_SECRET = (
    "Read them with `aws secretsmanager get-secret-value --secret-id <that secret>` (this command reads "
    "only the local file)."
)


def clients_file(instead: str = EDIT_THE_SECRET) -> Path:
    settings = _settings()
    if settings.api_clients_secret:
        raise fail(f"FRAUD_API_CLIENTS_SECRET is set: the clients live in that secret. {instead}")
    return settings.resolved_api_clients_file


def current(print_only: bool) -> tuple[Path, ClientDirectory]:
    """The document a change applies to. With `--print` and FRAUD_API_CLIENTS_SECRET set it is the
    secret's current value: a secret set-up keeps no file, and a document built on an empty one would
    drop every existing client at the next `put-secret-value`."""
    if not print_only:
        path = clients_file()
        return path, load(path)
    settings = _settings()
    if settings.api_clients_secret:
        import boto3

        from fraud_detection.infrastructure.aws.secrets_manager import read_clients_secret

        aws = boto3.client("secretsmanager", region_name=settings.aws_region)
        return settings.resolved_api_clients_file, read_clients_secret(aws, settings.api_clients_secret)
    return settings.resolved_api_clients_file, load(settings.resolved_api_clients_file)


@contextmanager
def editing(print_only: bool) -> Iterator[tuple[Path, ClientDirectory]]:
    """`current`, with the file locked until the change is saved: two `add`s at once each read the same
    document, and the later write dropped the other's client (and its key, already shown)."""
    if print_only:
        yield current(print_only)
        return
    path = clients_file()
    private_home(path.parent)  # FRAUD_HOME by default: created private, as every command creates it
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f".{path.name}.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released with the file, however the command ends
        yield path, load(path)


def load(path: Path) -> ClientDirectory:
    from fraud_detection.infrastructure.local.client_key_file import read_document

    return parse_clients(read_document(path)) if path.exists() else ClientDirectory(())


def save(path: Path, directory: ClientDirectory, print_only: bool) -> None:
    """With `--print` nothing is stored, which stderr says before any key: a key printed for a document
    kept nowhere was refused by the API (401) with no word of why."""
    if print_only:
        print(json.dumps(directory.to_document(), indent=2))
        secret = _settings().api_clients_secret
        where = (
            f"put it in the secret {secret!r} (`aws secretsmanager put-secret-value --secret-id {secret} "
            "--secret-string file://clients.json`)"
            if secret
            else f"{path} is unchanged: put the document where the API reads its clients, or run without "
            "--print"
        )
        typer.echo(
            f"--print: nothing stored; {where}. Until then the API does not know this change.", err=True
        )
        return
    from fraud_detection.infrastructure.local.client_key_file import write_document

    write_document(path, directory)


def show_key(client: ApiClient, key_id: str, key: str, print_only: bool) -> None:
    """On stdout (`KEY=$(fraud clients add ...)`), or on stderr when stdout carries the document."""
    typer.echo(
        f"client '{client.name}' key {key_id} (shown once; store it in the client's secret store):", err=True
    )
    typer.echo(key, err=print_only)


PrintOnly = Annotated[
    bool,
    typer.Option(
        "--print",
        help="Print the changed document on stdout instead of writing the file: the secret's, when "
        "FRAUD_API_CLIENTS_SECRET is set (a new key goes to stderr).",
    ),
]


@app.command()
@handles_user_errors
def add(
    name: ClientName,
    scope: Annotated[list[Scope], typer.Option("--scope", "-s", help="Repeat for several scopes.")],
    namespace: Annotated[
        str | None,
        typer.Option(
            help="Whose transaction ids it names; clients that score and label the same ids share one."
        ),
    ] = None,
    print_only: PrintOnly = False,
) -> None:
    """Add a client with its first key (printed once). Without --namespace, its own name is its namespace."""
    if not NAME.fullmatch(name):
        raise InvalidDataError("NAME", f"'{name}' is not a client name ({NAME.pattern})")
    if namespace is not None and not NAME.fullmatch(namespace):  # '' read as "not given" before
        raise InvalidDataError("--namespace", f"'{namespace}' is not a namespace ({NAME.pattern})")
    namespace = name if namespace is None else namespace
    with editing(print_only) as (path, directory):
        if name in directory.clients:
            raise fail(f"client '{name}' exists; use `fraud clients rotate {name}` for a new key")
        if sharing := sorted(c.name for c in directory.clients.values() if c.namespace == namespace):
            # by design (checkout and chargebacks name the same ids), but a default can join one unawares
            typer.echo(
                f"note: namespace '{namespace}' is shared with client(s) {', '.join(sharing)}: they score "
                "and label the same transaction ids and see the same batch jobs",
                err=True,
            )
        key, text = new_key()
        client = ApiClient(name, namespace, frozenset(scope), (key,))
        document = directory.to_document()
        document["clients"][name] = ClientDirectory([client]).to_document()["clients"][name]
        save(path, parse_clients(document), print_only)  # parse: the same checks as the API's load
    show_key(client, key.key_id, text, print_only)


@app.command()
@handles_user_errors
def rotate(name: ClientName, print_only: PrintOnly = False) -> None:
    """Give a client a new key; its old keys keep working until `fraud clients revoke`."""
    with editing(print_only) as (path, directory):
        client = _existing(directory, name)
        key, text = new_key()
        changed = replace(client, keys=(*client.keys, key))
        save(
            path,
            ClientDirectory([*(c for c in directory.clients.values() if c.name != name), changed]),
            print_only,
        )
    show_key(changed, key.key_id, text, print_only)


@app.command()
@handles_user_errors
def revoke(
    name: ClientName,
    key_id: Annotated[str, typer.Argument(help="The key id `fraud clients list` shows.")],
    print_only: PrintOnly = False,
) -> None:
    """Remove one key of a client (the API refuses it within a second)."""
    with editing(print_only) as (path, directory):
        client = _existing(directory, name)
        kept = tuple(key for key in client.keys if key.key_id != key_id)
        if len(kept) == len(client.keys):
            listed = ", ".join(k.key_id for k in client.keys)
            raise fail(f"client '{name}' has no key '{key_id}' (keys: {listed})")
        changed = replace(client, keys=kept)
        save(
            path,
            ClientDirectory([*(c for c in directory.clients.values() if c.name != name), changed]),
            print_only,
        )
    typer.echo(f"revoked key {key_id} of '{name}' ({len(kept)} left)", err=True)


@app.command("remove")
@handles_user_errors
def remove(name: ClientName, print_only: PrintOnly = False) -> None:
    """Remove a client and all its keys."""
    with editing(print_only) as (path, directory):
        _existing(directory, name)
        save(path, ClientDirectory([c for c in directory.clients.values() if c.name != name]), print_only)
    typer.echo(f"removed client '{name}'", err=True)


@app.command("list")
@handles_user_errors
def list_clients(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Clients, namespaces, scopes and key ids (never the keys)."""
    path = clients_file(READ_THE_SECRET)  # `list` has no --print to suggest
    directory = load(path)
    warn_if_refused(path)
    if as_json:
        print(json.dumps(directory.to_document(), indent=2))
        return
    table = Table("client", "namespace", "scopes", "key ids")
    for client in sorted(directory.clients.values(), key=lambda c: c.name):
        scopes = ", ".join(sorted(s.value for s in client.scopes))
        table.add_row(client.name, client.namespace, scopes, ", ".join(k.key_id for k in client.keys))
    print_table(table)


def warn_if_refused(path: Path) -> None:
    """Say so when the API would refuse this file (writable by others, another user's): it then serves the
    clients it loaded before, not the list printed (a client removed by a hand edit under umask 002 kept
    scoring while this listed it gone)."""
    from fraud_detection.infrastructure.local.client_key_file import require_trusted

    try:
        require_trusted(path, path.stat())
    except FileNotFoundError:
        return
    except ClientConfigError as error:
        typer.echo(
            f"warning: {error}: the API serves the clients it loaded before this file changed, "
            "not the ones listed",
            err=True,
        )


def _existing(directory: ClientDirectory, name: str) -> ApiClient:
    if name not in directory.clients:
        known = ", ".join(sorted(directory.clients)) or "none"
        raise fail(f"no client '{name}' (clients: {known})")
    return directory.clients[name]
