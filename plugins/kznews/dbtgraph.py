"""dbt's model graph from a manifest, with the standard library only: the nightly DAG reads it
at parse time (per-model dbt tasks), where no heavy module may be imported, and every build
writes it beside the build file (:func:`kznews.warehouse.runner.end_build`)."""

from __future__ import annotations

from typing import Any


def models_from_manifest(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Model name -> the names of the models it selects from (sorted), from a parsed dbt
    ``manifest.json``; tests, seeds and sources are left out."""
    nodes = manifest["nodes"]
    models = {
        node["name"]: sorted(
            nodes[parent]["name"]
            for parent in node["depends_on"]["nodes"]
            if parent.startswith("model.") and parent in nodes
        )
        for node in nodes.values()
        if node["resource_type"] == "model"
    }
    return dict(sorted(models.items()))
