"""Render the release report as one HTML page with every script and style inline.

Charts are Vega-Lite specs (templates/charts/*.vl.json) drawn in the browser by Vega,
whose JavaScript (Vega, Vega-Lite and vega-embed, about 0.9 MB) comes from
vl-convert-python's bundle and is written into the page, so the file opens from disk or
an e-mail with no network. vl-convert is imported only here, when a report is rendered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import logging
import os
import tempfile
from pathlib import Path

import jinja2

from loader.dq_summary import RunSummary
from loader.release_report.data import ReportData
from loader.release_report.page import TEMPLATES, script_json
from loader.release_report.sections import build_context

logger = logging.getLogger(__name__)

# What the page needs from the bundle: vega-embed (which brings Vega and Vega-Lite).
VEGA_SNIPPET = "window.vegaEmbed = vegaEmbed;"


def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script, from vl-convert-python.

    Bundling takes vl-convert several seconds, so the result is cached on disk per
    vl-convert version (``$XDG_CACHE_HOME/chs-waiting-lists``, default ``~/.cache``).
    """
    version = importlib.metadata.version("vl-convert-python")
    key = hashlib.sha256(VEGA_SNIPPET.encode()).hexdigest()[:8]
    cache_dir = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chs-waiting-lists"
    cached = cache_dir / f"vega-bundle-vl-convert-{version}-{key}.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    import vl_convert

    logger.info("bundling Vega's JavaScript (vl-convert %s; once, then cached in %s)", version, cache_dir)
    bundle = vl_convert.javascript_bundle(VEGA_SNIPPET)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cache_dir, delete=False, suffix=".part") as out:
            out.write(bundle)
        Path(out.name).replace(cached)
    except OSError as exc:  # no writable cache: bundle again next time
        logger.warning("cannot cache Vega's JavaScript in %s: %s", cache_dir, exc.strerror)
    return bundle


def _script_text(source: str) -> str:
    return source.replace("</script", "<\\/script")


def render_page(data: ReportData, run: RunSummary | None, generated_at: dt.datetime) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    context = build_context(data, run, generated_at)
    return environment.get_template("report.html.j2").render(
        **context,
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
        script=_script_text((TEMPLATES / "report.js").read_text(encoding="utf-8")),
        vega=_script_text(vega_bundle()),
        vega_config=script_json(json.loads((TEMPLATES / "vega_config.json").read_text(encoding="utf-8"))),
    )
