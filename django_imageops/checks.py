"""System checks for django_imageops (filled in by the ImageJob work)."""
