"""A browser walks staff administration (issue 16, item 2): the admin adds a staff member in
the web UI and enrols two-factor sign-in from the QR page (the secret read off the page, the
code computed as an authenticator app would); the new nurse signs in with the one-time
password, chooses a password, and signs in again with a recovery code. Desktop and phone."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest
from browser_steps import sign_in
from playwright.sync_api import Browser, Page, ViewportSize, expect

from glabella.services.context import Database
from glabella.services.users import create_user

pytestmark = pytest.mark.e2e

DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)


def _seed_admin(database_url: str, password: str) -> None:
    db = Database.from_url(database_url)
    try:
        create_user(
            db, username="e2e.admin", full_name="Ada Admin", role="admin", password=password
        )
    finally:
        db.engine.dispose()


def _sign_in(page: Page, server: str, username: str, password: str) -> None:
    sign_in(page, server, password, username)


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"  # type: ignore[index]


def test_admin_adds_staff_and_enrols_two_factor_desktop_and_phone(
    server_info: object, browser: Browser, artifacts: Path, staff_password: str
) -> None:
    server = server_info.base  # type: ignore[attr-defined]
    _seed_admin(server_info.database_url, staff_password)  # type: ignore[attr-defined]
    desk = browser.new_context(viewport=DESKTOP)
    page = desk.new_page()
    _sign_in(page, server, "e2e.admin", staff_password)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()

    # Add a nurse.
    page.fill("#full_name", "Nora Nurse")
    page.fill("#username", "n.nora")
    page.select_option("#role", "nurse")
    page.get_by_role("button", name="Add staff member").click()
    expect(page.get_by_role("heading", name="Account created: Nora Nurse")).to_be_visible()
    one_time = page.locator("#one-time-password").inner_text().strip()
    assert len(one_time) >= 20
    expect(page.locator("table.staff")).to_contain_text("Nora Nurse")
    page.screenshot(path=str(artifacts / "16-staff-created-desktop.png"), full_page=True)

    # A reset gives a new one-time password (the first one stops working).
    page.get_by_role("link", name="Nora Nurse").click()
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("heading", name="New one-time password")).to_be_visible()
    reset = page.locator("#one-time-password").inner_text().strip()
    assert reset != one_time and len(reset) >= 20
    one_time = reset
    page.screenshot(path=str(artifacts / "16-staff-reset-desktop.png"), full_page=True)

    # The admin's own two-factor enrolment from the account menu.
    page.locator("a.who").click()
    page.screenshot(path=str(artifacts / "16-account-desktop.png"), full_page=True)
    page.get_by_role("link", name="Two-factor sign-in").click()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150 and abs(box["width"] - box["height"]) < 2
    secret = page.locator("#secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    uri = page.locator("#uri").input_value()
    assert uri == f"otpauth://totp/Glabella:e2e.admin?secret={secret}&issuer=Glabella"
    page.screenshot(path=str(artifacts / "16-totp-enrol-desktop.png"), full_page=True)
    page.fill("#code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("The second factor is on")).to_be_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    page.screenshot(path=str(artifacts / "16-recovery-codes-desktop.png"), full_page=True)

    # Phone: the same pages, signed in as the same admin.
    phone = browser.new_context(viewport=PHONE, storage_state=desk.storage_state())
    small = phone.new_page()
    small.goto(f"{server}/admin/staff")
    expect(small.locator("table.staff")).to_contain_text("n.nora")
    small.screenshot(path=str(artifacts / "16-staff-list-phone.png"), full_page=True)
    _no_horizontal_scroll(small)
    small.get_by_role("link", name="Nora Nurse").click()
    expect(small.get_by_role("heading", name="Nora Nurse")).to_be_visible()
    small.screenshot(path=str(artifacts / "16-staff-member-phone.png"), full_page=True)
    _no_horizontal_scroll(small)
    phone.close()

    # The nurse: one-time password, then her own password, on a phone.
    nurse_ctx = browser.new_context(viewport=PHONE)
    nurse = nurse_ctx.new_page()
    _sign_in(nurse, server, "n.nora", one_time)
    expect(nurse.get_by_role("heading", name="Choose your password")).to_be_visible()
    nurse.fill("#current_password", one_time)
    nurse.fill("#new_password", "lanterns drift over quiet water")
    nurse.fill("#confirm_password", "lanterns drift over quiet water")
    nurse.get_by_role("button", name="Save password").click()
    links = nurse.get_by_role("navigation", name="Main").get_by_role("link").all_inner_texts()
    assert "Staff" not in links and "Dashboard" in links
    nurse.goto(f"{server}/account/totp")
    nurse_secret = nurse.locator("#secret").input_value()
    nurse.screenshot(path=str(artifacts / "16-totp-enrol-phone.png"), full_page=True)
    _no_horizontal_scroll(nurse)
    nurse.fill("#code", pyotp.TOTP(nurse_secret).now())
    nurse.get_by_role("button", name="Turn on").click()
    nurse_codes = nurse.locator("#recovery-codes li").all_inner_texts()
    assert len(nurse_codes) == 10
    nurse.screenshot(path=str(artifacts / "16-recovery-codes-phone.png"), full_page=True)
    _no_horizontal_scroll(nurse)
    nurse_ctx.close()

    # The admin signs in again: password, then the next code of the app.
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, server, "e2e.admin", staff_password)
    expect(page.get_by_role("heading", name="One-time code")).to_be_visible()
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # the enrolment step is spent
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    # And with a recovery code (phone lost): once only.
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, server, "e2e.admin", staff_password)
    page.get_by_text("Lost your phone? Use a recovery code").click()
    page.fill("#recovery_code", codes[0])
    page.screenshot(path=str(artifacts / "16-recovery-sign-in-desktop.png"), full_page=True)
    page.get_by_role("button", name="Sign in with a recovery code").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.goto(f"{server}/account")
    expect(page.get_by_text("9 unused recovery codes left")).to_be_visible()
    desk.close()
