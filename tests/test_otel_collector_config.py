"""deploy/otel-collector.yaml: parses, and its pipelines use only what it defines."""

from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "otel-collector.yaml"


def test_every_pipeline_names_defined_components_and_traces_go_out():
    """Each pipeline's receivers, processors and exporters are defined; traces and metrics flow."""
    config = yaml.safe_load(CONFIG.read_text())
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) >= {"traces", "metrics"}
    for name, pipeline in pipelines.items():
        for part in ("receivers", "processors", "exporters"):
            missing = set(pipeline.get(part, [])) - set(config.get(part) or {})
            assert not missing, f"pipeline {name} uses undefined {part}: {missing}"
        assert pipeline["receivers"], name
        assert pipeline["exporters"], name
    assert set(config["service"].get("extensions", [])) <= set(config.get("extensions") or {})
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")


def test_the_comments_name_one_service_name_per_kind():
    """The comments describe isr-tailer as one service name, not one per server."""
    text = CONFIG.read_text()
    assert "isr-tailer-<server>" not in text
    assert "isr-tailer" in text
