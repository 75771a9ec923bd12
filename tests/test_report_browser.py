"""The report in a real browser: headless Chromium (Debian's package, installed and named by
.ci/run), driven by Selenium with the system chromedriver. Nothing is downloaded."""

from __future__ import annotations

import pytest

from newsbeam.pipeline.cli import main
from tests.conftest import RUN_ARGS, required_service, write_feeds_file

pytestmark = pytest.mark.browser

DEMO_FEEDS = ["feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom"]
EVIL_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">&lt;script&gt;alert(1)&lt;/script&gt;</title>
<entry><title>Nothing</title><link href="{base}no-such-page.html"/><summary>Short.</summary></entry></feed>"""


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = required_service("NEWSBEAM_TEST_CHROMIUM", "Chromium and chromedriver (apt: chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1200"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def test_the_demo_report_shows_variants_side_by_side_and_hostile_titles_as_text(site, tmp_path, browser):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    site.routes["/evil.atom"] = lambda h: h.send_body(200, EVIL_FEED.format(base=site.base_url).encode(),
                                                      "application/atom+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in [*DEMO_FEEDS, "evil.atom"]])
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 0
    report = tmp_path / "report.html"
    assert main(["report", "--output", str(tmp_path / "out"), "-o", str(report)]) == 0

    browser.get(report.as_uri())
    stories = browser.find_elements(By.CSS_SELECTOR, "details.story")
    cable_car = next(s for s in stories if "Lindenau baut eine Seilbahn" in s.find_element(By.TAG_NAME, "summary").text)
    variants = cable_car.find_elements(By.CSS_SELECTOR, ".variant")
    assert len(variants) == 3 and all(v.is_displayed() for v in variants)
    places = [v.rect for v in variants]
    assert len({round(p["y"]) for p in places}) == 1  # one row: side by side
    assert [p["x"] for p in places] == sorted(p["x"] for p in places) and places[0]["x"] < places[1]["x"]
    assert {v.find_element(By.CSS_SELECTOR, ".tag").text for v in variants} == {"de", "en"}

    feed_table = browser.find_element(By.TAG_NAME, "table").text
    assert "<script>alert(1)</script>" in feed_table  # the feed's title, as text
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (nothing ran: there is no alert)
    assert browser.execute_script("return document.scripts.length") == 0
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
