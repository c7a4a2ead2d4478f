"""Tests of kznews.warehouse (the dbt project) and its fixtures."""
