"""Operator commands: `flask users …`, `flask rooms …`, `flask demo`."""

import secrets

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.services import ServiceError, accounts, conversations, demo

users = AppGroup("users", help="Create accounts and reset passwords.")
rooms = AppGroup("rooms", help="Create community rooms and choose their moderators.")


def _user(username: str):
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"There is no user @{username}.")
    return user


def _service(call):
    try:
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


@click.command("demo")
@with_appcontext
@click.option("--password", default=None, help="Password for every demo account (default: random, printed).")
def seed_demo(password):
    """Fill a fresh instance with a few people, friendships, chats, a group and room messages."""
    password = password or secrets.token_urlsafe(9) + "!a1A"
    if accounts.find_user(demo.PEOPLE[0][0]) is not None:
        raise click.ClickException("The demo people exist already; the demo is for a fresh instance.")
    # The messages it sends are also emitted, and their payloads hold URLs: they need a request context.
    steps = demo.steps(password)
    with (
        current_app.test_request_context(),
        click.progressbar(steps, length=demo.step_count(), label="Seeding the demo") as bar,
    ):
        for step in bar:
            _service(step)
    names = ", ".join(f"@{username}" for username, *_ in demo.PEOPLE)
    click.echo(f"Demo ready. Sign in as {names} with the password: {password}")


def register_commands(app) -> None:
    """Add the commands to `flask`."""
    app.cli.add_command(users)
    app.cli.add_command(rooms)
    app.cli.add_command(seed_demo)
