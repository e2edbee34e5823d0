"""Image operations on Wagtail images (placeholder)."""
