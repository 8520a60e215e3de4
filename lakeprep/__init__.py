"""lakeprep: executable courseware for the Databricks Certified Machine Learning Professional exam.

The package is shared by the lab notebooks, the `lakeprep` command line and the quiz engine.
Importing it is cheap on purpose: Spark, Delta and MLflow load only when a lab asks for them.
"""

__version__ = "0.1.0"
