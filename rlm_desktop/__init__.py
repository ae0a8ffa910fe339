"""rlm_desktop: a desktop debugger for Recursive Language Model (RLM) runs."""

__version__ = "0.1.0"
