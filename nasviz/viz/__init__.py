"""Figures: cell diagrams, plots. Built here so tests can call them without Streamlit."""
