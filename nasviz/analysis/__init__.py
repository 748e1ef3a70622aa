"""Analyses that turn spaces, benchmarks and models into data and Plotly figures."""
