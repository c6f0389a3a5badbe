"""Thin loader for NHS England Community Health Services waiting-list workbooks.

It lands every sheet of every workbook verbatim (one row per non-empty cell, as text,
with its lineage) and the trust_metrics extract CSV verbatim; all meaning is derived
in dbt.
"""

from __future__ import annotations

__version__ = "0.1.0"
