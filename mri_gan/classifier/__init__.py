"""Tumour classifier (paper Table II): training over seeds, statistics, prediction, export."""
