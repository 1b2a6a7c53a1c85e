"""CrossTrace: datasets, training and evaluation for scientific-reasoning fine-tuning."""

__version__ = "0.1.0"
