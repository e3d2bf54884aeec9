"""The Partner Connect page, driven in a real headless browser: tile -> dialog -> 302 to the partner -> delete.

Chromium and chromedriver come from the distribution's packages (`.ci/run`
installs them where missing); selenium drives them. Without them the test is
skipped with the reason, except under CI=true, where a missing browser fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator_client import RawClient
from helpers import example_partner

from stp_ext.core import auth_header
from stp_ext.emulator import Emulator
from stp_ext.sample_partner import SamplePartner

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
IN_CI = os.environ.get("CI", "").lower() == "true"  # read at import: the clean_env fixture removes CI
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
HEADER = auth_header.basic("databricks", "page-secret-for-tests").value


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) and os.access(path, os.X_OK)):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401  (only whether it is there)
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if IN_CI:
            pytest.fail(f"CI=true and no headless browser: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path / "chromium-profile"  # fresh: nothing from an earlier run or the user's own
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.slow  # a browser starts: begin it first, beside the rest
def test_the_page_walks_from_tile_to_the_partners_redirect_and_deletes(browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    with Emulator(port=0) as emu, SamplePartner(port=0, auth_header=HEADER, hostnames="127.0.0.1") as partner:
        admin = RawClient(emu.port)
        # A name with markup in it: the page shows it as text.
        config = example_partner(
            name="Box <i>Partner</i> & Co",
            connect_url=f"{partner.url}/connect",
            delete_url=f"{partner.url}/delete-connection",
            hostnames="127.0.0.1",
            integration_type="WAREHOUSE_WRITE",
            supported_features=["UNITY_CATALOG", "NON_ADMIN"],
        )
        created = admin.post("/api/2.0/partnerhub/self-test-partners/create", {"partner": config})
        assert created.status == 200, created.json()
        partner_id = created.json()["id"]
        admin.create_scope("partner-connect")
        admin.put_secret("partner-connect", partner_id, HEADER)
        admin.put_acl("partner-connect", "users", "READ")

        browser.get(f"{emu.url}/partner-connect")
        assert browser.find_element(By.ID, "partner-name").text == "Box <i>Partner</i> & Co self-testing"
        assert browser.find_elements(By.TAG_NAME, "i") == []  # the partner's markup is not markup
        # A click returns once the form is sent, not once the next page is in: look for its elements
        # until they come (bounded), as a user would.
        browser.implicitly_wait(10)
        Select(browser.find_element(By.ID, "user")).select_by_value("user")
        browser.find_element(By.ID, "connect").click()

        catalog = browser.find_element(By.ID, "catalog")  # the dialog: this integration type takes a catalog
        assert catalog.get_attribute("value") == "main"
        catalog.clear()
        catalog.send_keys("sales")
        browser.find_element(By.ID, "confirm").click()

        # The 302 took the browser to the partner's page. The click returns once the form is sent, not
        # once the emulator (which calls the partner first) has answered: wait for the page, bounded.
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        with contextlib.suppress(TimeoutException):
            WebDriverWait(browser, 20).until(lambda driver: driver.current_url == f"{partner.url}/create-trial")
        assert browser.current_url == f"{partner.url}/create-trial", browser.page_source[:500]
        assert browser.find_element(By.TAG_NAME, "h1").text == "Create trial"
        (connection,) = (
            RawClient(emu.port, token=None).get("/_emulator/partner-connect/connections").json()["connections"]
        )
        assert connection["catalog"] == "sales" and connection["users"][0]["user"] == "user@example.com"

        browser.get(f"{emu.url}/partner-connect")
        assert connection["connection_id"] in browser.find_element(By.ID, "connections").text
        browser.find_element(By.CSS_SELECTOR, "button.delete").click()
        assert "200" in browser.find_element(By.ID, "partner-answer").text
        browser.find_element(By.ID, "back").click()
        assert browser.find_element(By.ID, "connections").text == "None yet."
        assert partner.state.connection(connection["connection_id"]) is None  # the partner deleted it too
