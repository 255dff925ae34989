"""The action pipeline: plan an operation, perform it now or once approved, follow its task to the end."""
