"""A realistic sample district: residents, and the tables departments export about them."""

from hub.sample.generate import SampleResult, generate_sample

__all__ = ["SampleResult", "generate_sample"]
