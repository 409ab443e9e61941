"""Take the screenshots docs/console.md shows, from a running console (the README's "try it
by hand" steps, with a sale and a cost the YERBA-1KG rule cannot cover).

Usage: CONSOLE_PASSWORD=... .venv/bin/python scripts/console_screenshots.py \
           [--url http://127.0.0.1:8000] [--operator NAME] [--out docs/images]
Drives Debian's chromium (``/usr/bin/chromium``) with Playwright.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = {"overview": "/console/", "search": "/console/listings?q=mug",
         "listing": "/console/listings/demo/MLA1000000001",
         "price": "/console/listings/demo/MLA1000000004",
         "orders": "/console/orders", "jobs": "/console/jobs"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--operator", default="ana")
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()
    password = os.environ.get("CONSOLE_PASSWORD")
    chromium = shutil.which("chromium")
    if not password or not chromium:
        print("set CONSOLE_PASSWORD and install chromium (apt-get install chromium)",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(args.url + "/console/login")
        page.fill("input[name=name]", args.operator)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        for name, path in PAGES.items():
            page.goto(args.url + path)
            page.screenshot(path=str(out / f"console-{name}.png"), full_page=True)
            print(out / f"console-{name}.png")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
