"""An upload form in a real browser: Chromium sends the CSRF token in the multipart body, before the
file, and the import runs; the same form with its token taken out is the refusal page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, FilePayload, expect

from neigou.demo.seed import DemoWorld
from tests.browser.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.browser

CSV = "sku,title,price_yuan,commission_rate_bp\nUP-1,浏览器上传的商品,12.5,800\n".encode()
FILE: FilePayload = {"name": "products.csv", "mimeType": "text/csv", "buffer": CSV}


def test_a_product_file_uploaded_through_the_console_is_imported(
    browser: Browser, live_server: str, world: DemoWorld
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, world, target="/console/products")
    form = page.get_by_test_id("import-form")
    form.locator("input[type=file]").set_input_files(files=FILE)
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("import-result")).to_be_visible()
    expect(page.get_by_test_id("import-result")).to_contain_text("1")
    page.screenshot(path=str(ARTIFACTS / "upload-imported.png"), full_page=False)
    page.goto(f"{live_server}/console/products?q=UP-1")
    expect(page.get_by_text("浏览器上传的商品")).to_be_visible()

    form = page.get_by_test_id("import-form")
    form.locator("input[type=file]").set_input_files(files=FILE)
    form.locator("input[name=csrftoken]").evaluate("input => input.remove()")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("forbidden")).to_be_visible()
    expect(page.get_by_test_id("forbidden")).to_contain_text("表单已过期或并非来自本站")
    page.close()
