"""SDK v3's typed resources (``sagemaker.core.resources``, sagemaker-core 2.27) against the service."""

from __future__ import annotations


def _listed(out: str, label: str) -> list[str]:
    return out.split(f"{label}: ")[1].split("\n")[0].strip("[]").replace("'", "").split(", ")


def test_resources_train_host_two_variants_and_transform(run_v3_program):
    """TrainingJob/Model/EndpointConfig/Endpoint/TransformJob ``create`` + ``wait``; ``Endpoint.update``
    is UpdateEndpoint with the new config; ``invoke(target_variant=...)`` reaches that variant and
    InvokeEndpoint names it in ``InvokedProductionVariant`` (SageMaker Runtime API reference)."""
    out = run_v3_program("core_resources.py")
    assert out.count("Completed") == 3
    predictions = _listed(out, "predictions")
    assert abs(float(predictions[0]) - 3.0) < 0.5 and abs(float(predictions[1]) - 10.0) < 0.5
    assert "variants: ['A', 'B']" in out
    answer_a = out.split("variant A answered by: ")[1].split("\n")[0].split()
    answer_b = out.split("variant B answered by: ")[1].split("\n")[0].split()
    # Variant B's model trained 2 rounds, A's 20: the same row gets two different predictions.
    assert answer_a[0] == "A" and answer_b[0] == "B" and answer_a[1] != answer_b[1]
    assert _listed(out, "transform output") == predictions
    assert out.rstrip().endswith("deleted")
