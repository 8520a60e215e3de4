"""The quiz engine: question banks, practice and mock exams, spaced review, grading and exports.

Nothing in this package imports Spark, MLflow, pandas, numpy or matplotlib, directly or through
another module: `lakeprep quiz --help` must start in well under half a second on a laptop, and the
grading of a whole class must run where only the standard library and PyYAML are installed.
"""
