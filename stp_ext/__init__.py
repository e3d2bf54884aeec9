"""databricks-stp: manage and self-test a Databricks Partner Connect self-testing partner."""

__version__ = "0.1.0"
