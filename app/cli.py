"""Operator commands: `flask users …`, `flask rooms …`, `flask attachments …`, `flask demo`, `flask backup`."""

import os
import secrets
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.services import ServiceError, accounts, attachments, conversations, demo
from app.transactions import transaction

users = AppGroup("users", help="Create accounts and reset passwords.")
rooms = AppGroup("rooms", help="Create community rooms and choose their moderators.")
attachments_group = AppGroup("attachments", help="Uploaded files.")


def _user(username: str):
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"There is no user @{username}.")
    return user


def _service(call):
    """Run one service call in its own transaction (committed), a refusal as the command's error."""
    try:
        with transaction():
            return call()
    except ServiceError as error:
        raise click.ClickException(error.message) from None


@users.command("create")
@click.argument("username")
@click.option("--first-name", default="", help="First name.")
@click.option("--last-name", default="", help="Last name.")
@click.password_option(help="The password (asked for when not given).")
def create_user(username, first_name, last_name, password):
    """Create an account."""
    user = _service(lambda: accounts.register_user(username, password, first_name, last_name))
    click.echo(f"Created @{user.username}.")


@users.command("reset-password")
@click.argument("username")
@click.password_option(help="The new password (asked for when not given).")
def reset_password(username, password):
    """Set a new password; the user's existing sessions stop working."""
    user = _user(username)
    _service(lambda: accounts.set_password(user, password))
    click.echo(f"Password of @{user.username} reset; their sessions were signed out.")


@rooms.command("create")
@click.argument("title")
def create_room(title):
    """Open a new community room."""
    room = _service(lambda: conversations.create_room(title))
    click.echo(f"Created room {room.id}: {room.title}")


@rooms.command("moderator")
@click.argument("room_id", type=int)
@click.argument("username")
@click.option("--remove", is_flag=True, help="Make them a plain member again.")
def moderator(room_id, username, remove):
    """Make a member of a community room its moderator (or not, with --remove)."""
    user = _user(username)
    _service(lambda: conversations.set_moderator(room_id, user, not remove))
    click.echo(f"@{user.username} is {'no longer' if remove else 'now'} a moderator of room {room_id}.")


@attachments_group.command("purge")
def purge_attachments():
    """Delete the uploads never sent within ATTACHMENT_UNSENT_TTL_SECONDS (each worker also does this
    every ATTACHMENT_PURGE_INTERVAL_SECONDS)."""
    purged = attachments.purge_unsent(end_batch=db.session.commit)
    click.echo(f"Purged {purged} upload{'' if purged == 1 else 's'} never sent.")


@click.command("demo")
@with_appcontext
@click.option("--password", default=None, help="Password for every demo account (default: random, printed).")
def seed_demo(password):
    """Fill a fresh instance with a few people, friendships, chats, a group and room messages."""
    password = password or secrets.token_urlsafe(9) + "!a1A"
    if accounts.find_user(demo.PEOPLE[0][0]) is not None:
        raise click.ClickException("The demo people exist already; the demo is for a fresh instance.")
    steps = demo.steps(password)
    with click.progressbar(steps, length=demo.step_count(), label="Seeding the demo") as bar:
        for step in bar:
            _service(step)
    names = ", ".join(f"@{username}" for username, *_ in demo.PEOPLE)
    click.echo(f"Demo ready. Sign in as {names} with the password: {password}")


PG_DUMP_COMMAND = 'pg_dump --format=custom --file=messanger.dump "$DATABASE_URL"'


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@with_appcontext
def backup(path: Path, force: bool):
    """Copy the SQLite database to PATH, safely while the server runs (PostgreSQL: use pg_dump)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(
            f"The database is {url.get_backend_name()} ({url.render_as_string(hide_password=True)}); "
            "`flask backup` copies SQLite only. Back it up with pg_dump, with this site's DATABASE_URL:\n"
            f"  {PG_DUMP_COMMAND}\n"
            'and restore with: pg_restore --clean --no-owner -d "$DATABASE_URL" messanger.dump'
        )
    source = Path(url.database or "")
    if not url.database or url.database == ":memory:" or not source.is_file():
        raise click.ClickException(f"There is no SQLite database file at {url.database or '(memory)'}.")
    target = path.expanduser().absolute()
    if target.exists() and target.resolve() == source.resolve():
        raise click.ClickException("PATH is the live database itself; choose another file.")
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists already; add --force to overwrite it.")
    if not target.parent.is_dir():
        raise click.ClickException(f"There is no folder {target.parent}.")
    size = copy_sqlite_database(source, target)
    click.echo(f"Backed up {source} ({_human_size(size)}) to {target}, uploaded pictures included.")


def copy_sqlite_database(source: Path, target: Path) -> int:
    """Copy the SQLite database at `source` to `target` with SQLite's online backup API; return its size.

    The copy is one consistent snapshot, the part still in the write-ahead log included, taken while other
    connections keep reading and writing. It is written next to `target` and renamed over it once checked,
    so `target` is never half-written, and it is a single file (rollback journal mode, no -wal beside it).
    """
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    try:
        with closing(sqlite3.connect(source, timeout=30)) as live, closing(sqlite3.connect(temporary)) as copy:
            live.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise click.ClickException(f"The copy failed SQLite's quick_check: {check}")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _human_size(size: float) -> str:
    if size < 1024:
        return f"{int(size)} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def register_commands(app) -> None:
    """Add the commands to `flask`."""
    app.cli.add_command(users)
    app.cli.add_command(rooms)
    app.cli.add_command(attachments_group)
    app.cli.add_command(seed_demo)
    app.cli.add_command(backup)
