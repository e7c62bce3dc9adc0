"""The admin panel in a real browser: Debian's chromium, headless, driven through
chromedriver by Selenium. Logs in, adds a domain and a user through the forms, opens the
queue, sets up one-time codes on the user's page (the code computed here as an
authenticator app does), and logs out; then checks that the log-in asks for a code.

Arguments: the http port, the chromedriver path.
"""

import re
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from totp import code

port, driver_path = sys.argv[1], sys.argv[2]
BASE = f"http://127.0.0.1:{port}"

options = webdriver.ChromeOptions()
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
    options.add_argument(argument)
browser = webdriver.Chrome(service=Service(driver_path), options=options)
browser.set_page_load_timeout(30)


def fill(form_action, **fields):
    """Fills in and sends the form posting to `form_action`, and waits for the next page."""
    form = browser.find_element(By.CSS_SELECTOR, f'form[action="{form_action}"]')
    for name, value in fields.items():
        box = form.find_element(By.NAME, name)
        box.clear()
        box.send_keys(value)
    navigate(lambda: form.find_element(By.CSS_SELECTOR, "button[type=submit]").click())


def follow(link):
    navigate(lambda: browser.find_element(By.LINK_TEXT, link).click())


def navigate(action):
    """Does `action` and waits until the next page has loaded: a mark left on this page's
    window is gone from the next one's."""
    browser.execute_script("window.posternLeft = true")
    action()

    def loaded(driver):
        left = driver.execute_script("return window.posternLeft === true")
        ready = driver.execute_script("return document.readyState") == "complete"
        return not left and ready

    # While the page changes, the driver may answer with errors of its own.
    WebDriverWait(browser, 30, ignored_exceptions=(WebDriverException,)).until(loaded)


def heading():
    return browser.find_element(By.TAG_NAME, "h1").text


try:
    browser.get(BASE + "/admin/")
    assert browser.current_url.endswith("/admin/login"), browser.current_url
    fill("/admin/login", email="alice@example.test", password="alice-secret")
    assert heading() == "Dashboard", browser.page_source
    assert browser.get_cookie("postern_session")["httpOnly"] is True

    follow("Domains")
    fill("/admin/domains/add", name="browser.test")
    assert "Added browser.test." in browser.find_element(By.CSS_SELECTOR, ".note").text

    follow("Users")
    fill("/admin/users/add", email="erin@browser.test", password="erin-secret-1", quota="2M")
    assert "Added erin@browser.test." in browser.page_source, browser.find_element(By.TAG_NAME, "body").text[:600]
    row = browser.find_element(By.XPATH, "//tr[td[text()='erin@browser.test']]")
    assert "0 bytes of 2.0 MiB" in row.text, row.text

    follow("Queue")
    assert "0 messages waiting to be sent." in browser.page_source

    fill("/admin/logout")
    assert browser.current_url.endswith("/admin/login")
    browser.get(BASE + "/admin/users")
    assert browser.current_url.endswith("/admin/login"), "logged out"

    # Erin sets up one-time codes on her page.
    browser.get(BASE + "/account/login")
    fill("/account/login", email="erin@browser.test", password="erin-secret-1")
    assert heading() == "Your account"
    fill("/account/totp/start")
    assert browser.find_elements(By.TAG_NAME, "svg"), "the QR code is shown"
    key = re.search(r"Key: ([A-Z2-7]+)", browser.find_element(By.TAG_NAME, "body").text).group(1)
    step = int(time.time()) // 30
    fill("/account/totp/confirm", code=code(key, step))
    assert "One-time codes are on." in browser.page_source
    fill("/account/logout")
    fill("/account/login", email="erin@browser.test", password="erin-secret-1")
    assert "Enter the one-time code" in browser.page_source
    fill("/account/login", email="erin@browser.test", password="erin-secret-1", code=code(key, step + 1))
    assert heading() == "Your account", browser.page_source
finally:
    browser.quit()
print("browser ok")
