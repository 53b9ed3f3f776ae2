"""What an instance-hour costs on AWS: the on-demand SageMaker price table shipped beside this module.

The table (``sagemaker_prices.csv``) is edited by hand: comment lines at its top name the page it
was copied from and the date of that copy, then one row per region, component and instance type.
A type with no row has no price: callers say so (``PriceNotFound``) instead of guessing.
Read by the service (the cost ledger, ``status``) and by the client (``helpers.print_lesson_cost``
on AWS), so it imports nothing but the standard library.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PRICE_FILE = Path(__file__).with_name("sagemaker_prices.csv")

# The component each kind of usage is billed under, as the pricing page names its tables.
TRAINING, PROCESSING, TRANSFORM, INFERENCE, NOTEBOOK = (
    "training",
    "processing",
    "transform",
    "inference",
    "notebook",
)
COMPONENTS = (TRAINING, PROCESSING, TRANSFORM, INFERENCE, NOTEBOOK)


class PriceNotFound(LookupError):
    """The table has no price for this instance type, component and region."""

    def __init__(self, instance_type: str, region: str, component: str):
        self.instance_type, self.region, self.component = instance_type, region, component
        super().__init__(f"no price for {instance_type} in {region}")


@dataclass(frozen=True)
class PriceTable:
    source: str
    copied: str  # the date (YYYY-MM-DD) of the copy of the source page
    prices: dict[tuple[str, str, str], float]  # (region, component, instance type) -> USD per hour

    def hourly(self, instance_type: str, region: str, component: str) -> float:
        """USD per instance-hour; ``PriceNotFound`` if the table has no row for it."""
        try:
            return self.prices[(region, component, instance_type)]
        except KeyError:
            raise PriceNotFound(instance_type, region, component) from None

    def cost(self, instance_type: str, region: str, component: str, instance_seconds: float) -> float:
        """USD for ``instance_seconds`` (seconds × instance count) of one instance type."""
        return self.hourly(instance_type, region, component) * instance_seconds / 3600.0


def read_table(path: Path) -> PriceTable:
    """Parse a price file: ``# key: value`` header comments, then CSV rows."""
    header: dict[str, str] = {}
    rows: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            match = re.match(r"#\s*(source|copied):\s*(\S+)", line)
            if match:
                header[match.group(1)] = match.group(2)
        elif line.strip():
            rows.append(line)
    prices: dict[tuple[str, str, str], float] = {}
    for row in csv.DictReader(rows):
        component = row["component"].strip()
        if component not in COMPONENTS:
            raise ValueError(f"{path.name}: unknown component {component!r} (one of {', '.join(COMPONENTS)})")
        key = (row["region"].strip(), component, row["instance_type"].strip())
        prices[key] = float(row["usd_per_hour"])
    return PriceTable(header.get("source", ""), header.get("copied", ""), prices)


@cache
def price_table() -> PriceTable:
    """The table shipped with the project (read once per process)."""
    return read_table(PRICE_FILE)


# How the bill names each kind of resource.
KIND_LABELS = {
    "TrainingJob": "training job",
    "ProcessingJob": "processing job",
    "TransformJob": "transform job",
    "HyperParameterTuningJob": "tuning job",
    "Endpoint": "endpoint",
    "NotebookInstance": "notebook instance",
}


def dollars(amount: float) -> str:
    """``$0.0213``: four decimals, since a lesson's jobs cost fractions of a cent; six below a cent
    (``$0.000083``), so a job of a few seconds does not read as free."""
    return f"${amount:.6f}" if 0 < amount < 0.01 else f"${amount:.4f}"


def idle_endpoint_message(endpoint: str, idle_seconds: float, hourly: float | None, region: str) -> str:
    """The warning for an endpoint InService that nobody has invoked for a while."""
    cost = f"costing ${hourly:.3f}/h on AWS" if hourly is not None else f"(its type has no price in {region})"
    return (
        f"endpoint {endpoint} is InService but idle for {idle_seconds / 60:.0f} min, {cost}: delete it with "
        f"sagemaker_client.delete_endpoint(EndpointName='{endpoint}') or predictor.delete_endpoint()"
    )


def total_line(total: float, region: str, copied: str, scope: str = "This lesson would have cost") -> str:
    """The one line that sums a bill up."""
    return f"{scope} about {dollars(total)} on AWS (on-demand, {region}, prices of {copied})."
