"""Feedback stores: where clinicians' accepted and overridden card outcomes are kept."""
