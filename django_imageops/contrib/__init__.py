"""Optional integrations of django_imageops with other Django applications (each one an app of
its own, added to ``INSTALLED_APPS`` by the sites that want it)."""
