"""Two people in Chromium find each other, become friends and see it on their home pages."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import register_in_browser, unique_username

# The pages behave the same on every engine (their engine-specific paths are tested over HTTP and
# sockets on all of them): the browser walks them once.
pytestmark = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)


def register(page, username: str, first_name: str, last_name: str) -> None:
    register_in_browser(page, username, first_name, last_name)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Hi, {first_name}")


def test_two_people_find_each_other_and_become_friends(new_page):
    """Search as you type, request from the results, accept from home: both list the other."""
    ana, bob = new_page(), new_page()
    ana_name, bob_name = unique_username("ana"), unique_username("bob")
    register(ana, ana_name, "Ana", "Lima")
    register(bob, bob_name, "Bob", "Stone")

    # Ana types part of Bob's name: results arrive without submitting the form.
    ana.goto("/search")
    ana.get_by_label("Search people").press_sequentially(bob_name[:8], delay=30)
    result = ana.locator("[data-search-results] li", has_text=f"@{bob_name}")
    expect(result).to_be_visible()
    expect(ana).to_have_url(re.compile(rf"q={bob_name[:8]}"))
    result.get_by_role("button", name="Add friend").click()
    expect(ana.locator("[data-flash]")).to_contain_text(f"Friend request sent to @{bob_name}")
    expect(ana.locator("[data-search-results] li", has_text=f"@{bob_name}")).to_contain_text("Request sent")

    # Bob sees the badge and the request on his home page, and accepts it.
    bob.goto("/")
    expect(bob.locator("nav")).to_contain_text("1 pending friend request")
    requests = bob.locator("#friend-requests")
    expect(requests).to_contain_text(f"@{ana_name}")
    requests.get_by_role("button", name="Accept").click()
    expect(bob.locator("[data-flash]")).to_contain_text(f"You and @{ana_name} are now friends.")

    # Both see the other among their friends, linked to the profile.
    for page, other, other_name in ((bob, ana_name, "Ana Lima"), (ana, bob_name, "Bob Stone")):
        page.goto("/")
        friend_link = page.locator(f'a[href="/u/{other}"]', has_text=other_name).first
        expect(friend_link).to_be_visible()
        friend_link.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(other_name)
        expect(page.locator("main")).to_contain_text("Friends")


def test_bio_and_avatar_choice_in_the_browser(new_page):
    """Edit the bio (shown as typed, line breaks kept) and pick an avatar with one click."""
    page = new_page()
    username = unique_username("cy")
    register(page, username, "Cy", "Ng")
    page.goto("/settings/profile")
    page.fill("#bio", "First line\n<b>second</b> line")
    page.get_by_role("button", name="Save profile").click()
    expect(page.locator("main")).to_contain_text("<b>second</b> line")
    expect(page.locator("main b")).to_have_count(0)

    page.goto("/settings/avatar")
    page.get_by_role("button", name=re.compile("Owl")).click()
    expect(page.locator("[data-flash]")).to_contain_text("Your picture has been changed.")
    expect(page.locator('nav img[src="/static/avatars/owl.svg"]').first).to_be_visible()
