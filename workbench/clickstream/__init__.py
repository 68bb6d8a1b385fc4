"""Clickstream analyses for an analyst (notebook 08): funnels and conversion, product interest."""
