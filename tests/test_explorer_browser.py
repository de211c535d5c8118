"""The item explorer driven in a real headless Chromium: filters, sorting and search on 2,000 items.

Each filter's row count is checked against what results.json says (the judge's paired wins and
losses, McNemar's discordant counts) or, for "judge disagrees with the reference", against a
count made here from results.json's items. The time a filter takes is measured and printed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workshop.core.io import read_json

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000")
N_ITEMS = 2000

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
                                reason="no Chromium installed (Debian: apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict]:
    from workshop.report import write_report
    from workshop.report.testing import instruction_items, judged_pipeline

    run = judged_pipeline(tmp_path_factory.mktemp("run") / "run", instruction_items(N_ITEMS),
                          {"response_before": 0.3, "response_after": 0.45}, seed=7)
    paths = write_report(run)
    return paths["report_html"], read_json(paths["results"])


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def sign(x: float, margin: float) -> int:
    return 1 if x >= margin else -1 if x <= -margin else 0


def disagreements(items: list[dict]) -> int:
    """Items where the judge moves one way (by at least the tie margin) and the reference the other, counted here."""
    count = 0
    for it in items:
        (_, ja, ea, ra), (_, jb, eb, rb) = it["cells"]
        judge = sign(jb - ja, 0.5)
        reference = (eb - ea) if eb != ea else sign(rb - ra, 1e-12)
        count += judge != 0 and reference != 0 and judge != reference
    return count


def shown(driver) -> int:
    from selenium.webdriver.common.by import By

    return int(driver.find_element(By.ID, "xp-count").get_attribute("data-count"))


def choose(driver, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def test_filters_sorting_search_and_speed(report, browser, capsys):
    from selenium.webdriver.common.by import By

    page, results = report
    browser.get(page.as_uri())
    items = results["explorer"]["items"]
    paired = results["judge"]["paired"]
    assert len(items) == N_ITEMS and shown(browser) == N_ITEMS

    choose(browser, "xp-filter", "better")
    assert shown(browser) == paired["wins"]
    choose(browser, "xp-filter", "worse")
    assert shown(browser) == paired["losses"]
    choose(browser, "xp-by", "em")  # exact match: McNemar's discordant pairs
    assert shown(browser) == paired["reference"]["exact_match"]["only_a"]
    choose(browser, "xp-filter", "better")
    assert shown(browser) == paired["reference"]["exact_match"]["only_b"]
    choose(browser, "xp-filter", "disagree")
    assert shown(browser) == disagreements(items) > 0

    choose(browser, "xp-filter", "all")
    header = browser.find_element(By.CSS_SELECTOR, "#explorer th[data-sort='jb']")
    expected = sorted(it["cells"][1][1] for it in items)
    for descending in (False, True):
        header.click()
        cells = browser.find_elements(By.CSS_SELECTOR, "#xp-rows tr td:nth-child(7)")
        got = [float(c.text) for c in cells]
        want = (expected[::-1] if descending else expected)[: len(got)]
        assert len(got) == 25 and got == pytest.approx([round(x, 1) for x in want], abs=0.051)

    search = browser.find_element(By.ID, "xp-search")
    search.send_keys("Question 1234:")
    rows = browser.find_elements(By.CSS_SELECTOR, "#xp-rows tr")
    assert shown(browser) == 1 and rows[0].get_attribute("data-index") == "1234"
    assert items[1234]["instruction"] in rows[0].text
    search.clear()
    browser.execute_script("document.getElementById('xp-search').dispatchEvent(new Event('input'))")
    assert shown(browser) == N_ITEMS

    timings = []
    for value in ("better", "worse", "disagree", "all") * 3:  # filter, re-render the page, and lay it out
        timings.append(browser.execute_script(
            "const t = performance.now(), s = document.getElementById('xp-filter'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('change')); document.body.offsetHeight; return performance.now() - t;", value))
    with capsys.disabled():
        print(f"\nexplorer filter on {N_ITEMS} items in Chromium: median {sorted(timings)[len(timings) // 2]:.1f} ms, "
              f"max {max(timings):.1f} ms over {len(timings)} filters (goal < 200 ms)")


def test_changed_words_are_marked(report, browser):
    from selenium.webdriver.common.by import By

    page, results = report
    browser.get(page.as_uri())
    index = next(i for i, it in enumerate(results["explorer"]["items"]) if it["cells"][0][0] != it["cells"][1][0])
    row = browser.find_element(By.CSS_SELECTOR, f"#xp-rows tr[data-index='{index}']")
    a, b = row.find_elements(By.CSS_SELECTOR, "td")[3:5]
    before, after = (results["explorer"]["items"][index]["cells"][k][0].split() for k in (0, 1))
    deleted = [e.text for e in a.find_elements(By.TAG_NAME, "del")]
    inserted = [e.text for e in b.find_elements(By.TAG_NAME, "ins")]
    assert deleted and inserted
    assert all(w in before for w in deleted) and all(w in after for w in inserted)
    assert len(before) - len(deleted) == len(after) - len(inserted)  # the words kept are the same on both sides
