"""Approval requests: who may ask and decide, the two-person rule, drift checks and running what was approved."""
