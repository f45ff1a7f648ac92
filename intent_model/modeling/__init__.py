"""Model training, evaluation, tracking and the saved bundle (see DESIGN.md section 6)."""
