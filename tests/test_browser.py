"""The account pages in a real Chromium: forms, live password hints, small screens, dark mode and keyboard use."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD, register_in_browser, unique_username

# The pages behave the same on every engine (their engine-specific paths are tested over HTTP and
# sockets on all of them): the browser walks them once.
pytestmark = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)

SMALL_VIEWPORT = {"width": 360, "height": 740}
RGB = re.compile(r"rgba?\((\d+(?:\.\d+)?)[, ]+(\d+(?:\.\d+)?)[, ]+(\d+(?:\.\d+)?)")


def relative_luminance(css_color: str) -> float:
    """WCAG relative luminance (0 black … 1 white) of a computed CSS rgb()/rgba() colour."""
    match = RGB.match(css_color)
    assert match, f"unexpected computed colour {css_color!r}"

    def linear(channel: str) -> float:
        value = float(channel) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in match.groups())
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_register_log_out_and_log_in(page):
    """A visitor signs up, signs out through the navigation and signs back in with the same password."""
    username = unique_username("browser")
    register_in_browser(page, username, first_name="Beatriz")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hi, Beatriz")
    expect(page.locator("[data-flash]")).to_contain_text("Welcome to Messanger, Beatriz Lima!")

    menu_toggle = page.locator("[data-nav-toggle]")
    if menu_toggle.is_visible():
        menu_toggle.click()
    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your own messenger")
    expect(page.locator("[data-flash]")).to_contain_text("You have signed out.")

    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.locator("form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hi, Beatriz")


def test_password_hints_follow_typing(page):
    """Each password rule turns met or unmet while typing, and a differing confirmation is flagged, before submit."""
    page.goto("/register")
    password = page.locator("#password")
    confirm = page.locator("#confirm_password")
    match_output = page.locator("#password-match")

    def expect_rules(**states):
        for rule, state in states.items():
            expect(page.locator(f"ul#password-hints li[data-rule={rule}]")).to_have_attribute("data-state", state)

    expect_rules(length="idle", upper="idle", lower="idle", digit="idle", special="idle")

    password.press_sequentially("a")
    expect_rules(length="unmet", upper="unmet", lower="met", digit="unmet", special="unmet")
    expect(page.locator("li[data-rule=lower] [data-rule-status]")).to_have_text(" (met)")
    expect(page.locator("li[data-rule=upper] [data-rule-status]")).to_have_text(" (not met)")

    password.press_sequentially("B")
    expect_rules(length="unmet", upper="met", lower="met", digit="unmet", special="unmet")

    password.press_sequentially("3")
    expect_rules(length="unmet", upper="met", lower="met", digit="met", special="unmet")

    password.press_sequentially("!xyzw")
    expect_rules(length="met", upper="met", lower="met", digit="met", special="met")

    password.press("Backspace")
    expect_rules(length="unmet", upper="met", lower="met", digit="met", special="met")

    expect(match_output).to_have_attribute("data-state", "idle")
    confirm.press_sequentially("aB3")
    expect(match_output).to_have_attribute("data-state", "mismatch")
    expect(match_output).to_contain_text("Passwords do not match")
    confirm.press_sequentially("!xyz")
    expect(match_output).to_have_attribute("data-state", "match")
    expect(match_output).to_contain_text("Passwords match")

    password.fill("")
    expect_rules(length="idle", upper="idle", lower="idle", digit="idle", special="idle")
    expect(match_output).to_have_attribute("data-state", "mismatch")

    expect(page).to_have_url(re.compile(r"/register$"))
    expect(page.locator(".field-error")).to_have_count(0)


def test_refused_registration_keeps_input_and_marks_the_password(page):
    """A too-short password is refused with the typed names kept and the error tied to the password field."""
    username = unique_username("browser")
    page.goto("/register")
    page.fill("#username", username)
    page.fill("#first_name", "Carla")
    page.fill("#last_name", "Souza")
    page.fill("#password", "Ab1!")
    page.fill("#confirm_password", "Ab1!")
    with page.expect_navigation() as navigation:
        page.locator("form button[type=submit]").click()
    assert navigation.value.status == 422

    expect(page.locator("#username")).to_have_value(username)
    expect(page.locator("#first_name")).to_have_value("Carla")
    password = page.locator("#password")
    expect(password).to_have_attribute("aria-invalid", "true")
    described_by = (password.get_attribute("aria-describedby") or "").split()
    assert "password-error" in described_by
    expect(page.locator("#password-error")).to_contain_text("at least 8 characters")


@pytest.mark.parametrize(("color_scheme", "dark"), [("light", False), ("dark", True)])
def test_small_screen_pages_fit_and_follow_the_color_scheme(new_page, color_scheme, dark):
    """At 360 px wide no account page scrolls sideways, and the background follows the system colour scheme."""
    page = new_page(viewport=SMALL_VIEWPORT, color_scheme=color_scheme)

    def check_page(name: str) -> None:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= SMALL_VIEWPORT["width"], f"{name} overflows sideways: scrollWidth={scroll_width}"
        luminance = relative_luminance(page.evaluate("getComputedStyle(document.body).backgroundColor"))
        if dark:
            assert luminance < 0.2, f"{name} background is not dark: luminance {luminance:.2f}"
        else:
            assert luminance > 0.8, f"{name} background is not light: luminance {luminance:.2f}"

    for path, name in [("/", "landing"), ("/register", "register"), ("/login", "login")]:
        page.goto(path)
        check_page(name)
    register_in_browser(page, unique_username("narrow"), first_name="Dora", last_name="Ferreira-Albuquerque")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hi, Dora")
    check_page("home")
    expect(page.locator("[data-nav-toggle]")).to_be_visible()


def test_login_form_is_labelled_and_starts_with_the_skip_link(page):
    """Every login input has a label, and the first Tab reaches the skip link, which leads to the main content."""
    page.goto("/login")

    expect(page.get_by_label("Username")).to_have_attribute("id", "username")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("id", "password")
    unlabelled = page.evaluate(
        """() => Array.from(document.querySelectorAll("input:not([type=hidden])"))
            .filter((input) => input.labels.length === 0)
            .map((input) => input.id || input.name)"""
    )
    assert unlabelled == []
    assert page.locator("input:not([type=hidden])").count() >= 3

    page.keyboard.press("Tab")
    skip_link = page.get_by_role("link", name="Skip to content")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_have_attribute("href", "#content")
    box = skip_link.bounding_box()
    assert box and box["width"] > 1 and box["height"] > 1, "the focused skip link is not visible"

    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
