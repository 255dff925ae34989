"""The operations catalogue: every change Proxgate can make, declared once (see catalogue.py)."""
