"""Gradio UI (top layer): builds on agents/, never the other way round."""
